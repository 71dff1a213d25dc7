package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A sidecar's outbound side: one listener on {@value #PORT} (Istio's {@code virtualOutbound}) whose
 * HTTP connection manager routes by the route configuration {@value #ROUTES}, which holds one
 * virtual host per service port. Applications reach it as an HTTP proxy ({@code HTTP_PROXY}), by
 * Host header, or with CONNECT for opaque TCP, which the connection manager upgrades as Envoy's
 * CONNECT support does.
 *
 * <p>For pods whose traffic is intercepted, the listener also works as Envoy's {@code
 * use_original_dst} capture listener: TCP service ports have {@code tcp_proxy} chains matching
 * their endpoints' addresses and target port, HTTP is recognised by {@code http_inspector}, and the
 * default chain sends everything else to {@value #PASSTHROUGH} (ALLOW_ANY) or {@value #BLACKHOLE}
 * (REGISTRY_ONLY).
 */
final class SidecarOutbound {
  static final int PORT = 15001;
  static final String LISTENER = dev.fedmesh.model.XdsNames.VIRTUAL_OUTBOUND;
  static final String ROUTES = "outbound";
  static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  static final String PASSTHROUGH = dev.fedmesh.model.XdsNames.PASSTHROUGH_CLUSTER;
  static final String BLACKHOLE = dev.fedmesh.model.XdsNames.BLACKHOLE_CLUSTER;

  /** What becomes of outbound connections to destinations the mesh does not know, as Istio's. */
  enum OutboundTrafficPolicy {
    /** They go where they were going, in plaintext. */
    ALLOW_ANY,
    /** They are closed: only the mesh's services can be reached. */
    REGISTRY_ONLY
  }

  private SidecarOutbound() {}

  /**
   * One service port's {@code tcp_proxy} chains, one per target port: the endpoints' addresses as
   * single-address prefixes, the target port as the destination port, named after the cluster.
   */
  static java.util.SortedMap<String, FilterChain> tcpChains(
      String cluster, java.util.SortedMap<Integer, java.util.SortedSet<String>> targets) {
    java.util.SortedMap<String, FilterChain> chains = new java.util.TreeMap<>();
    targets.forEach(
        (port, addresses) -> {
          FilterChainMatch.Builder match =
              FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port));
          for (String address : addresses) {
            match.addPrefixRanges(
                CidrRange.newBuilder()
                    .setAddressPrefix(address)
                    .setPrefixLen(UInt32Value.of(address.contains(":") ? 128 : 32)));
          }
          String name = targets.size() == 1 ? cluster : cluster + "|" + port;
          chains.put(
              name,
              FilterChain.newBuilder()
                  .setName(name)
                  .setFilterChainMatch(match)
                  .addFilters(tcpProxy(cluster))
                  .build());
        });
    return chains;
  }

  /**
   * A ServiceEntry port's {@code tcp_proxy} chain: connections to {@code port} whose destination is
   * in {@code prefixes} (IP addresses or CIDR ranges; any when empty) and, for TLS the application
   * made itself, whose SNI is one of {@code serverNames} (Envoy's {@code tls_inspector} reads it).
   */
  static FilterChain chain(
      String name, String cluster, int port, List<String> prefixes, List<String> serverNames) {
    FilterChainMatch.Builder match =
        FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port));
    for (String prefix : prefixes) {
      int slash = prefix.indexOf('/');
      String address = slash < 0 ? prefix : prefix.substring(0, slash);
      int length =
          slash < 0
              ? (address.contains(":") ? 128 : 32)
              : Integer.parseInt(prefix.substring(slash + 1));
      match.addPrefixRanges(
          CidrRange.newBuilder().setAddressPrefix(address).setPrefixLen(UInt32Value.of(length)));
    }
    if (!serverNames.isEmpty()) {
      match.addAllServerNames(serverNames).setTransportProtocol("tls");
    }
    return FilterChain.newBuilder()
        .setName(name)
        .setFilterChainMatch(match)
        .addFilters(tcpProxy(cluster))
        .build();
  }

  /** The cluster the default chain names under {@code policy}. */
  static Cluster fallbackCluster(OutboundTrafficPolicy policy) {
    if (policy == OutboundTrafficPolicy.ALLOW_ANY) {
      return Cluster.newBuilder()
          .setName(PASSTHROUGH)
          .setType(Cluster.DiscoveryType.ORIGINAL_DST)
          .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
          .setConnectTimeout(Durations.fromSeconds(10))
          .build();
    }
    return Cluster.newBuilder()
        .setName(BLACKHOLE)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(Durations.fromSeconds(10))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(BLACKHOLE))
        .build();
  }

  private static Filter tcpProxy(String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }

  /** The listener without TCP chains, under ALLOW_ANY. */
  static Listener listener() {
    return listener(List.of(), OutboundTrafficPolicy.ALLOW_ANY);
  }

  static Listener listener(Collection<FilterChain> tcpChains, OutboundTrafficPolicy policy) {
    boolean bySni =
        tcpChains.stream().anyMatch(c -> c.getFilterChainMatch().getServerNamesCount() > 0);
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("outbound")
            .setRds(
                Rds.newBuilder().setConfigSource(ConfigGenerator.ADS).setRouteConfigName(ROUTES))
            .addUpgradeConfigs(
                HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("CONNECT"))
            .addHttpFilters(ConfigGenerator.faultFilter())
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(ConfigGenerator.ROUTER_FILTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName(LISTENER)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(PORT)))
        .setUseOriginalDst(BoolValue.of(true))
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName("envoy.filters.listener.http_inspector")
                .setTypedConfig(Any.pack(HttpInspector.getDefaultInstance())))
        .addAllListenerFilters(
            bySni
                ? List.of(
                    ListenerFilter.newBuilder()
                        .setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance()))
                        .build())
                : List.of())
        .addAllFilterChains(tcpChains)
        .addFilterChains(
            FilterChain.newBuilder()
                .setName("http")
                .setFilterChainMatch(
                    FilterChainMatch.newBuilder()
                        .addApplicationProtocols("http/1.1")
                        .addApplicationProtocols("h2c"))
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(manager))))
        .setDefaultFilterChain(
            FilterChain.newBuilder()
                .setName(policy == OutboundTrafficPolicy.ALLOW_ANY ? PASSTHROUGH : BLACKHOLE)
                .addFilters(
                    tcpProxy(policy == OutboundTrafficPolicy.ALLOW_ANY ? PASSTHROUGH : BLACKHOLE)))
        .build();
  }

  /**
   * One service port's virtual host: CONNECT tunnels go to its cluster, requests follow {@code
   * routes} (a VirtualService's, or the default route with the mesh's default retries and no
   * timeout of its own, since streams may be long, as in Istio).
   */
  static VirtualHost virtualHost(
      String name, List<String> domains, String cluster, List<Route> routes) {
    return VirtualHost.newBuilder()
        .setName(name)
        .addAllDomains(domains)
        .addRoutes(
            Route.newBuilder()
                .setName("connect")
                .setMatch(
                    RouteMatch.newBuilder()
                        .setConnectMatcher(RouteMatch.ConnectMatcher.getDefaultInstance()))
                .setRoute(
                    RouteAction.newBuilder()
                        .setCluster(cluster)
                        .addUpgradeConfigs(
                            RouteAction.UpgradeConfig.newBuilder().setUpgradeType("CONNECT"))))
        .addAllRoutes(routes)
        .build();
  }

  /**
   * The outbound route configuration over every service's virtual host, in name order. A domain may
   * appear once only (Envoy rejects duplicates); where two services claim the same short name, the
   * first by name keeps it and the other is reached by a longer name.
   */
  static RouteConfiguration routes(Collection<VirtualHost> virtualHosts) {
    RouteConfiguration.Builder routes = RouteConfiguration.newBuilder().setName(ROUTES);
    Set<String> taken = new HashSet<>();
    virtualHosts.stream()
        .sorted(java.util.Comparator.comparing(VirtualHost::getName))
        .forEach(
            host -> {
              VirtualHost.Builder unique = host.toBuilder().clearDomains();
              for (String domain : host.getDomainsList()) {
                if (taken.add(domain)) {
                  unique.addDomains(domain);
                }
              }
              if (unique.getDomainsCount() > 0) {
                routes.addVirtualHosts(unique);
              }
            });
    return routes.build();
  }

  /** Asks for HTTP/2 to the cluster's hosts (gRPC and h2 ports), as Envoy's explicit config. */
  static void http2(Cluster.Builder cluster) {
    cluster.putTypedExtensionProtocolOptions(
        HTTP_OPTIONS,
        Any.pack(
            HttpProtocolOptions.newBuilder()
                .setExplicitHttpConfig(
                    HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                        .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                .build()));
  }
}
