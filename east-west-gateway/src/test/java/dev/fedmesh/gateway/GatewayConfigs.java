package dev.fedmesh.gateway;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gateway configs shaped as the controller's {@code GatewayConfig} generates them: one listener
 * {@code 0.0.0.0_15443} with a TLS inspector and one filter chain per exported service port, {@code
 * server_names=[sni]} to a {@code tcp_proxy} whose cluster is named by the SNI, and that cluster
 * (EDS over ADS, round robin) with its local endpoints.
 */
final class GatewayConfigs {
  static final String LISTENER = "0.0.0.0_15443";
  static final String PAYMENTS = "outbound_.8080_._.payments.default.svc.cluster.local";
  static final String CART = "outbound_.9090_._.cart.shop.svc.cluster.local";

  private GatewayConfigs() {}

  /** Each server name to its endpoints, all healthy in priority 0. */
  static ProxyConfig of(Map<String, List<InetSocketAddress>> services) {
    Listener.Builder listener = listener();
    Map<String, Cluster> clusters = new HashMap<>();
    Map<String, ClusterLoadAssignment> endpoints = new HashMap<>();
    services.forEach(
        (sni, addresses) -> {
          listener.addFilterChains(chain(sni, sni));
          clusters.put(sni, cluster(sni));
          endpoints.put(sni, assignment(sni, addresses));
        });
    return new ProxyConfig(Map.of(LISTENER, listener.build()), Map.of(), clusters, endpoints);
  }

  static ProxyConfig of(String sni, InetSocketAddress... endpoints) {
    Map<String, List<InetSocketAddress>> services = new LinkedHashMap<>();
    services.put(sni, List.of(endpoints));
    return of(services);
  }

  /** {@code config} with {@code detection} on every cluster. */
  static ProxyConfig withOutlierDetection(ProxyConfig config, OutlierDetection detection) {
    Map<String, Cluster> clusters = new HashMap<>();
    config
        .clusters()
        .forEach(
            (name, cluster) ->
                clusters.put(name, cluster.toBuilder().setOutlierDetection(detection).build()));
    return new ProxyConfig(config.listeners(), config.routes(), clusters, config.endpoints());
  }

  static Listener.Builder listener() {
    return Listener.newBuilder()
        .setName(LISTENER)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15443)))
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName("envoy.filters.listener.tls_inspector")
                .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
  }

  static FilterChain chain(String sni, String cluster) {
    return FilterChain.newBuilder()
        .setName(sni)
        .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni))
        .addFilters(tcpProxy(TcpProxy.newBuilder().setStatPrefix(sni).setCluster(cluster).build()))
        .build();
  }

  static Filter tcpProxy(TcpProxy proxy) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(Any.pack(proxy))
        .build();
  }

  static Cluster cluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder()
                .setEdsConfig(
                    ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()))
                .setServiceName(name))
        .setConnectTimeout(Durations.fromSeconds(1))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .build();
  }

  static ClusterLoadAssignment assignment(String name, List<InetSocketAddress> addresses) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder().setPriority(0);
    for (InetSocketAddress address : addresses) {
      locality.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setHealthStatus(HealthStatus.HEALTHY)
              .setEndpoint(
                  Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress(address.getAddress().getHostAddress())
                                      .setPortValue(address.getPort())))));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality).build();
  }
}
