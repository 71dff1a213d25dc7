package dev.fedmesh.proxy.dns;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.model.XdsNames;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DnsResolutionConfig;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import java.net.InetSocketAddress;
import java.time.Duration;

/** The controller's DNS listener, as tests build it: Envoy's protos, as the contract says. */
public final class DnsListeners {
  private DnsListeners() {}

  /** A virtual domain answering with {@code addresses}. */
  public static DnsTable.DnsVirtualDomain domain(String name, String... addresses) {
    return DnsTable.DnsVirtualDomain.newBuilder()
        .setName(name)
        .setEndpoint(
            DnsTable.DnsEndpoint.newBuilder()
                .setAddressList(
                    DnsTable.AddressList.newBuilder().addAllAddress(java.util.List.of(addresses))))
        .build();
  }

  /** A DNS filter config with {@code table}, forwarding to {@code resolvers}. */
  @SuppressWarnings("deprecation")
  public static DnsFilterConfig.Builder filter(
      DnsTable table, Duration resolverTimeout, InetSocketAddress... resolvers) {
    DnsResolutionConfig.Builder resolution = DnsResolutionConfig.newBuilder();
    for (InetSocketAddress resolver : resolvers) {
      resolution.addResolvers(
          Address.newBuilder()
              .setSocketAddress(
                  SocketAddress.newBuilder()
                      .setAddress(resolver.getAddress().getHostAddress())
                      .setPortValue(resolver.getPort())));
    }
    return DnsFilterConfig.newBuilder()
        .setStatPrefix("dns")
        .setServerConfig(DnsFilterConfig.ServerContextConfig.newBuilder().setInlineDnsTable(table))
        .setClientConfig(
            DnsFilterConfig.ClientContextConfig.newBuilder()
                .setResolverTimeout(Durations.fromMillis(resolverTimeout.toMillis()))
                .setDnsResolutionConfig(resolution));
  }

  /** The {@code dns} listener on {@code address} (UDP) with {@code filter}. */
  public static Listener listener(InetSocketAddress address, DnsFilterConfig filter) {
    return Listener.newBuilder()
        .setName(XdsNames.DNS_LISTENER)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder()
                        .setProtocol(SocketAddress.Protocol.UDP)
                        .setAddress(address.getAddress().getHostAddress())
                        .setPortValue(address.getPort())))
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName(XdsNames.DNS_FILTER)
                .setTypedConfig(Any.pack(filter)))
        .build();
  }
}
