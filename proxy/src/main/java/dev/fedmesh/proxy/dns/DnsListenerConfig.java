package dev.fedmesh.proxy.dns;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import dev.fedmesh.model.XdsNames;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The sidecar's DNS listener as the controller describes it: the UDP listener {@value
 * XdsNames#DNS_LISTENER} whose one listener filter is Envoy's DNS filter ({@value
 * XdsNames#DNS_FILTER}, a {@code DnsFilterConfig}). Of that config fedmesh reads {@code
 * server_config.inline_dns_table} (see {@link DnsTable}) and, of {@code client_config}, {@code
 * resolver_timeout} (default 5 s, at least 1 s as in Envoy), {@code dns_resolution_config}'s {@code
 * resolvers} (IP literals, port 53 when unset; none: the pod's resolv.conf) and {@code
 * use_tcp_for_dns_lookups}, and {@code max_pending_lookups} (default 256). What fedmesh would not
 * enforce is refused by field rather than ignored: {@code external_dns_table}, {@code
 * upstream_resolvers}, {@code typed_dns_resolver_config}, and table endpoints other than address
 * lists.
 *
 * <p>The listener's address must be an IP literal with protocol UDP; fedmesh serves the same table
 * over TCP on the same address and port (Envoy's filter is UDP only). Port 0 binds a port the
 * system picks, the same for both.
 *
 * @param address where to listen, UDP and TCP
 * @param table the names answered locally
 * @param resolverTimeout the bound on one forwarded query, from the client's query to its answer
 * @param resolvers the upstream resolvers the controller names; empty: the pod's resolv.conf
 * @param tcpUpstream whether every forwarded query goes over TCP ({@code use_tcp_for_dns_lookups})
 * @param maxPendingLookups forwarded queries in flight at most; more are refused at once
 * @param externalRetryCount the table's {@code external_retry_count}: rounds over the resolvers
 *     beyond the first (0: resolv.conf's {@code attempts} when the resolvers are its own)
 */
public record DnsListenerConfig(
    InetSocketAddress address,
    DnsTable table,
    Duration resolverTimeout,
    List<InetSocketAddress> resolvers,
    boolean tcpUpstream,
    int maxPendingLookups,
    int externalRetryCount) {

  static final Duration DEFAULT_RESOLVER_TIMEOUT = Duration.ofSeconds(5);
  static final int DEFAULT_MAX_PENDING_LOOKUPS = 256;
  private static final Duration MIN_RESOLVER_TIMEOUT = Duration.ofSeconds(1);

  public DnsListenerConfig {
    resolvers = List.copyOf(resolvers);
  }

  /** The DNS listener of {@code config}, if the controller sent one. */
  public static Optional<DnsListenerConfig> of(ProxyConfig config) {
    Listener listener = config.listeners().get(XdsNames.DNS_LISTENER);
    return listener == null ? Optional.empty() : Optional.of(of(listener));
  }

  /**
   * Whether the listener is fedmesh's DNS listener, by name or by filter: either makes it subject
   * to {@link #problems}, so the DNS filter cannot hide on another listener.
   */
  public static boolean concerns(Listener listener) {
    return listener.getName().equals(XdsNames.DNS_LISTENER)
        || listener.getListenerFiltersList().stream()
            .anyMatch(
                f ->
                    f.getName().equals(XdsNames.DNS_FILTER)
                        || f.getTypedConfig().is(DnsFilterConfig.class));
  }

  /** Reads a listener that {@link #problems} found nothing wrong with. */
  @SuppressWarnings("deprecation") // dns_resolution_config: the contract's field, as Istio's
  static DnsListenerConfig of(Listener listener) {
    List<String> problems = problems(listener);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    DnsFilterConfig filter = filterConfig(listener.getListenerFilters(0)).orElseThrow();
    SocketAddress socket = listener.getAddress().getSocketAddress();
    InetSocketAddress address =
        new InetSocketAddress(
            NetUtil.createInetAddressFromIpAddressString(socket.getAddress()),
            socket.getPortValue());
    DnsFilterConfig.ClientContextConfig client = filter.getClientConfig();
    List<InetSocketAddress> resolvers = new ArrayList<>();
    for (Address resolver : client.getDnsResolutionConfig().getResolversList()) {
      resolvers.add(resolver(resolver.getSocketAddress()));
    }
    var table = filter.getServerConfig().getInlineDnsTable();
    return new DnsListenerConfig(
        address,
        DnsTable.of(table),
        client.hasResolverTimeout()
            ? Duration.ofMillis(Durations.toMillis(client.getResolverTimeout()))
            : DEFAULT_RESOLVER_TIMEOUT,
        resolvers,
        client.getDnsResolutionConfig().getDnsResolverOptions().getUseTcpForDnsLookups(),
        client.getMaxPendingLookups() == 0
            ? DEFAULT_MAX_PENDING_LOOKUPS
            : (int) Math.min(Integer.MAX_VALUE, client.getMaxPendingLookups()),
        table.getExternalRetryCount());
  }

  /**
   * What is wrong with a DNS listener, each problem naming its field (the xDS client joins them
   * into its NACK after the listener's name).
   */
  @SuppressWarnings("deprecation")
  public static List<String> problems(Listener listener) {
    List<String> problems = new ArrayList<>();
    if (!listener.getName().equals(XdsNames.DNS_LISTENER)) {
      problems.add(
          "listener_filters: "
              + XdsNames.DNS_FILTER
              + " (expected: only on listener '"
              + XdsNames.DNS_LISTENER
              + "')");
      return problems;
    }
    if (!listener.getAddress().hasSocketAddress()) {
      problems.add("address.socket_address: missing (expected: an IP address and port)");
    } else {
      SocketAddress socket = listener.getAddress().getSocketAddress();
      if (socket.getProtocol() != SocketAddress.Protocol.UDP) {
        problems.add(
            "address.socket_address.protocol: " + socket.getProtocol() + " (expected: UDP)");
      }
      if (!isIpLiteral(socket.getAddress())) {
        problems.add(
            "address.socket_address.address: '"
                + socket.getAddress()
                + "' (expected: an IPv4 or IPv6 address)");
      }
      if (socket.getPortSpecifierCase() != SocketAddress.PortSpecifierCase.PORT_VALUE
          && socket.getPortSpecifierCase()
              != SocketAddress.PortSpecifierCase.PORTSPECIFIER_NOT_SET) {
        problems.add("address.socket_address.named_port: set (expected: port_value)");
      } else if (socket.getPortValue() > 65535) {
        problems.add(
            "address.socket_address.port_value: "
                + socket.getPortValue()
                + " (expected: 0..65535)");
      }
    }
    if (listener.getFilterChainsCount() > 0) {
      problems.add(
          "filter_chains: "
              + listener.getFilterChainsCount()
              + " (expected: none; the DNS filter is the listener's only filter)");
    }
    if (listener.getListenerFiltersCount() != 1) {
      problems.add(
          "listener_filters: "
              + listener.getListenerFiltersCount()
              + " filters (expected: exactly one, "
              + XdsNames.DNS_FILTER
              + ")");
      return problems;
    }
    ListenerFilter filter = listener.getListenerFilters(0);
    if (!filter.getName().equals(XdsNames.DNS_FILTER)) {
      problems.add(
          "listener_filters[0].name: '"
              + filter.getName()
              + "' (expected: "
              + XdsNames.DNS_FILTER
              + ")");
    }
    if (!filter.getTypedConfig().is(DnsFilterConfig.class)) {
      problems.add(
          "listener_filters[0].typed_config: '"
              + filter.getTypedConfig().getTypeUrl()
              + "' (expected: type.googleapis.com/"
              + DnsFilterConfig.getDescriptor().getFullName()
              + ")");
      return problems;
    }
    Optional<DnsFilterConfig> parsed;
    try {
      parsed = Optional.of(filter.getTypedConfig().unpack(DnsFilterConfig.class));
    } catch (InvalidProtocolBufferException e) {
      problems.add("listener_filters[0].typed_config: does not parse (" + e.getMessage() + ")");
      return problems;
    }
    String at = "listener_filters[0].typed_config.";
    DnsFilterConfig config = parsed.get();
    if (config.hasServerConfig()) {
      var server = config.getServerConfig();
      switch (server.getConfigSourceCase()) {
        case INLINE_DNS_TABLE ->
            problems.addAll(
                DnsTable.problems(
                    server.getInlineDnsTable(), at + "server_config.inline_dns_table."));
        case EXTERNAL_DNS_TABLE ->
            problems.add(at + "server_config.external_dns_table: set (expected: inline_dns_table)");
        default -> problems.add(at + "server_config: no table (expected: inline_dns_table)");
      }
    }
    DnsFilterConfig.ClientContextConfig client = config.getClientConfig();
    if (client.hasResolverTimeout()
        && Durations.toMillis(client.getResolverTimeout()) < MIN_RESOLVER_TIMEOUT.toMillis()) {
      problems.add(
          at
              + "client_config.resolver_timeout: "
              + Durations.toString(client.getResolverTimeout())
              + " (expected: at least 1s, Envoy's bound)");
    }
    if (client.getUpstreamResolversCount() > 0) {
      problems.add(
          at
              + "client_config.upstream_resolvers: set (expected: dns_resolution_config.resolvers"
              + " instead)");
    }
    if (client.hasTypedDnsResolverConfig()) {
      problems.add(
          at
              + "client_config.typed_dns_resolver_config: set (expected:"
              + " dns_resolution_config.resolvers instead)");
    }
    List<Address> resolvers = client.getDnsResolutionConfig().getResolversList();
    for (int i = 0; i < resolvers.size(); i++) {
      String field = at + "client_config.dns_resolution_config.resolvers[" + i + "].";
      if (!resolvers.get(i).hasSocketAddress()) {
        problems.add(field + "socket_address: missing (expected: an IP address and port)");
        continue;
      }
      SocketAddress socket = resolvers.get(i).getSocketAddress();
      if (!isIpLiteral(socket.getAddress())) {
        problems.add(
            field
                + "socket_address.address: '"
                + socket.getAddress()
                + "' (expected: an IPv4 or IPv6 address)");
      }
      if (socket.getPortValue() > 65535
          || socket.getPortSpecifierCase() == SocketAddress.PortSpecifierCase.NAMED_PORT) {
        problems.add(field + "socket_address.port_value (expected: 1..65535, or unset for 53)");
      }
    }
    return problems;
  }

  private static InetSocketAddress resolver(SocketAddress socket) {
    InetAddress address = NetUtil.createInetAddressFromIpAddressString(socket.getAddress());
    return new InetSocketAddress(address, socket.getPortValue() == 0 ? 53 : socket.getPortValue());
  }

  private static Optional<DnsFilterConfig> filterConfig(ListenerFilter filter) {
    try {
      return Optional.of(filter.getTypedConfig().unpack(DnsFilterConfig.class));
    } catch (InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }

  /** An IP address written as one, with no zone: nothing here is ever resolved. */
  private static boolean isIpLiteral(String text) {
    return !text.contains("%") && NetUtil.createInetAddressFromIpAddressString(text) != null;
  }
}
