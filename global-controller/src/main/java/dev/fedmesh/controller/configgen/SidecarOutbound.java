package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
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
 */
final class SidecarOutbound {
  static final int PORT = 15001;
  static final String LISTENER = "virtualOutbound";
  static final String ROUTES = "outbound";
  static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private SidecarOutbound() {}

  static Listener listener() {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("outbound")
            .setRds(
                Rds.newBuilder().setConfigSource(ConfigGenerator.ADS).setRouteConfigName(ROUTES))
            .addUpgradeConfigs(
                HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("CONNECT"))
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
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(manager))))
        .build();
  }

  /**
   * One service port's virtual host: CONNECT tunnels and every request go to its cluster; requests
   * get the mesh's default retries and no timeout of their own (streams may be long), as in Istio.
   */
  static VirtualHost virtualHost(String name, List<String> domains, String cluster) {
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
        .addRoutes(
            Route.newBuilder()
                .setName("default")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(
                    RouteAction.newBuilder()
                        .setCluster(cluster)
                        .setTimeout(Durations.ZERO)
                        .setRetryPolicy(TrafficDefaults.sidecarRetries())))
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
