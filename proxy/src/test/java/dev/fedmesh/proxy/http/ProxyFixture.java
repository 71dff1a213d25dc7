package dev.fedmesh.proxy.http;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds proxy configs the way the controller shapes them, and runs proxies on loopback. */
final class ProxyFixture implements AutoCloseable {
  static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  final NioEventLoopGroup group = new NioEventLoopGroup(2);
  private final List<AutoCloseable> closeables = new ArrayList<>();

  final Map<String, Cluster> clusters = new LinkedHashMap<>();
  final Map<String, ClusterLoadAssignment> endpoints = new LinkedHashMap<>();
  final RouteConfiguration.Builder routes = RouteConfiguration.newBuilder().setName("outbound");

  /**
   * An EDS cluster with fast outlier detection (2 local-origin or gateway errors eject for 1 s).
   */
  static Cluster.Builder cluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
        .setConnectTimeout(Durations.fromMillis(500))
        .setOutlierDetection(
            OutlierDetection.newBuilder()
                .setConsecutive5Xx(UInt32Value.of(5))
                .setConsecutiveGatewayFailure(UInt32Value.of(2))
                .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100))
                .setSplitExternalLocalOriginErrors(true)
                .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
                .setInterval(Durations.fromSeconds(1))
                .setBaseEjectionTime(Durations.fromSeconds(1))
                .setMaxEjectionPercent(UInt32Value.of(100)));
  }

  static Cluster.Builder http2(Cluster.Builder cluster) {
    return cluster.putTypedExtensionProtocolOptions(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        Any.pack(
            HttpProtocolOptions.newBuilder()
                .setExplicitHttpConfig(
                    HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                        .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                .build()));
  }

  static CircuitBreakers budget(int percent, int minConcurrency) {
    return CircuitBreakers.newBuilder()
        .addThresholds(
            CircuitBreakers.Thresholds.newBuilder()
                .setRetryBudget(
                    CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                        .setBudgetPercent(
                            io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(percent))
                        .setMinRetryConcurrency(UInt32Value.of(minConcurrency))))
        .build();
  }

  static LbEndpoint endpoint(InetSocketAddress address) {
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(
                    Address.newBuilder()
                        .setSocketAddress(
                            SocketAddress.newBuilder()
                                .setAddress(address.getHostString())
                                .setPortValue(address.getPort()))))
        .build();
  }

  /** Endpoints in one locality per priority: {@code byPriority.get(p)} are priority p's hosts. */
  static ClusterLoadAssignment assignment(String name, List<List<InetSocketAddress>> byPriority) {
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(name);
    for (int p = 0; p < byPriority.size(); p++) {
      LocalityLbEndpoints.Builder group =
          LocalityLbEndpoints.newBuilder()
              .setPriority(p)
              .setLocality(Locality.newBuilder().setRegion("region-" + p))
              .setLoadBalancingWeight(UInt32Value.of(1));
      for (InetSocketAddress address : byPriority.get(p)) {
        group.addLbEndpoints(endpoint(address));
      }
      assignment.addEndpoints(group);
    }
    return assignment.build();
  }

  ProxyFixture addCluster(Cluster cluster, List<List<InetSocketAddress>> byPriority) {
    clusters.put(cluster.getName(), cluster);
    endpoints.put(cluster.getName(), assignment(cluster.getName(), byPriority));
    return this;
  }

  /** A virtual host for {@code domain} with the given routes. */
  ProxyFixture addHost(String domain, Route... routes) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(domain).addDomains(domain);
    for (Route route : routes) {
      host.addRoutes(route);
    }
    this.routes.addVirtualHosts(host);
    return this;
  }

  static Route route(String prefix, String cluster) {
    return Route.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  static Route route(String prefix, RouteAction.Builder action) {
    return Route.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
        .setRoute(action)
        .build();
  }

  /** A route for CONNECT requests (Envoy's connect_matcher) to {@code cluster}. */
  static Route connectRoute(String cluster) {
    return Route.newBuilder()
        .setMatch(
            RouteMatch.newBuilder()
                .setConnectMatcher(RouteMatch.ConnectMatcher.getDefaultInstance()))
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  static RetryPolicy.Builder retries(String on, int count) {
    return RetryPolicy.newBuilder()
        .setRetryOn(on)
        .setNumRetries(UInt32Value.of(count))
        .setRetryBackOff(
            RetryPolicy.RetryBackOff.newBuilder()
                .setBaseInterval(Durations.fromMillis(1))
                .setMaxInterval(Durations.fromMillis(5)))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName("envoy.retry_host_predicates.previous_hosts"));
  }

  /** Envoy's mTLS transport socket to a peer sidecar whose URI SAN {@code peer} matches. */
  static TransportSocket mtls(String sni, StringMatcher peer) {
    UpstreamTlsContext context =
        UpstreamTlsContext.newBuilder()
            .setSni(sni)
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(
                                CertificateValidationContext.newBuilder()
                                    .addMatchTypedSubjectAltNames(
                                        SubjectAltNameMatcher.newBuilder()
                                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                                            .setMatcher(peer)))))
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(Any.pack(context))
        .build();
  }

  static Listener outboundListener(String routeName) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("outbound")
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
            .build();
    return Listener.newBuilder()
        .setName(OutboundRouting.LISTENER)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15001)))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(manager))))
        .build();
  }

  ProxyConfig config() {
    RouteConfiguration routeConfig = routes.build();
    return new ProxyConfig(
        Map.of(OutboundRouting.LISTENER, outboundListener(routeConfig.getName())),
        Map.of(routeConfig.getName(), routeConfig),
        clusters,
        endpoints);
  }

  HttpProxy start(HttpProxy.Builder builder) throws InterruptedException {
    HttpProxy proxy = builder.start();
    closeables.add(proxy);
    return proxy;
  }

  /** A proxy with only the outbound listener, on a free loopback port, with this config. */
  HttpProxy outboundProxy() throws InterruptedException {
    HttpProxy proxy =
        start(HttpProxy.builder(group).outbound(new InetSocketAddress("127.0.0.1", 0)));
    proxy.apply(config());
    return proxy;
  }

  <T extends AutoCloseable> T closeLater(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  @Override
  public void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
