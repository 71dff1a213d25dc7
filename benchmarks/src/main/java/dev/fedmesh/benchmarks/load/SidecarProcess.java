package dev.fedmesh.benchmarks.load;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.http.HttpProxy;
import dev.fedmesh.proxy.http.InboundPort;
import dev.fedmesh.proxy.http.OutboundRouting;
import dev.fedmesh.proxy.net.Transports;
import dev.fedmesh.proxy.tls.ProxyIdentity;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.trust.SvidCredential;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
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
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.Percent;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One fedmesh sidecar in a JVM of its own, configured statically (no controller), for {@link
 * SidecarBenchmark}: either the caller's side (the outbound HTTP proxy, routing the benchmark's
 * service over mutual TLS to the peer sidecar) or the callee's side (an inbound STRICT mTLS port in
 * front of the application). The config is shaped as the controller shapes it: the same names, SNI,
 * SAN check, retry policy, outlier detection and circuit breakers.
 *
 * <pre>
 * SidecarProcess outbound CERT_DIR WORKLOAD PEER_WORKLOAD PEER_HOST:PORT THREADS [policy]
 * SidecarProcess inbound  CERT_DIR WORKLOAD APP_HOST:PORT THREADS [policy]
 * </pre>
 *
 * With {@code policy}, what a production mesh adds on top: a JSON access log line per request (to
 * {@code CERT_DIR/WORKLOAD-access.log}) on both sides, and on the callee's side an authorization
 * policy as Istio translates one (a DENY on {@code /admin}, then an ALLOW for the caller's SPIFFE
 * ID) in the controller's {@code virtualInbound} shape.
 *
 * <p>Prints {@code listening <host>:<port>} once bound; exits when its standard input closes.
 */
public final class SidecarProcess {
  static final String SERVICE = "bench.bench.svc.cluster.local";
  static final int SERVICE_PORT = 8080;
  static final String CLUSTER = "outbound|" + SERVICE_PORT + "||" + SERVICE;
  static final String SNI = "outbound_." + SERVICE_PORT + "_._." + SERVICE;
  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private SidecarProcess() {}

  public static void main(String[] args) throws Exception {
    String role = args[0];
    Path certs = Path.of(args[1]);
    SvidCredential credential = BenchPki.load(certs, args[2]);
    ProxyIdentity identity =
        new ProxyIdentity(() -> Optional.of(credential), BenchPki.verifier(certs));
    boolean outbound = role.equals("outbound");
    int threads = Integer.parseInt(args[outbound ? 5 : 4]);
    boolean policy = args.length > (outbound ? 6 : 5) && args[outbound ? 6 : 5].equals("policy");
    Path accessLog = certs.resolve(args[2] + "-access.log");
    // The transport the production sidecar (ProxyMain) runs on: epoll where it loads, else NIO.
    EventLoopGroup group = Transports.eventLoopGroup(threads);
    HttpProxy proxy;
    InetSocketAddress bound;
    if (outbound) {
      proxy =
          HttpProxy.builder(group)
              .identity(identity)
              .outbound(new InetSocketAddress("127.0.0.1", 0))
              .start();
      ProxyConfig config = outboundConfig(BenchPki.idOf(args[3]).toString(), hostPort(args[4]));
      proxy.apply(policy ? PolicyConfig.withAccessLog(config, accessLog) : config);
      bound = proxy.outboundAddress().orElseThrow();
    } else {
      proxy =
          HttpProxy.builder(group)
              .identity(identity)
              .inbound(
                  new InboundPort(
                      new InetSocketAddress("127.0.0.1", 0),
                      hostPort(args[3]),
                      InboundPort.AppProtocol.HTTP,
                      InboundPort.TlsMode.STRICT))
              .start();
      bound = proxy.inboundAddresses().get(0);
      if (policy) {
        proxy.apply(
            PolicyConfig.inbound(bound.getPort(), BenchPki.idOf("client").toString(), accessLog));
      }
    }
    System.out.println(ChildProcess.LISTENING + bound.getHostString() + ":" + bound.getPort());
    System.out.flush();
    awaitEndOfInput(System.in);
    proxy.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Blocks until the benchmark closes our standard input (or dies). */
  static void awaitEndOfInput(InputStream in) {
    try {
      while (in.read() >= 0) {
        // nothing is ever sent; only the end matters
      }
    } catch (IOException e) {
      // a broken pipe ends the wait too
    }
  }

  static InetSocketAddress hostPort(String text) {
    int colon = text.lastIndexOf(':');
    return new InetSocketAddress(
        text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
  }

  /** The caller's config: one service, one endpoint (the peer sidecar), mTLS to it. */
  static ProxyConfig outboundConfig(String peerId, InetSocketAddress peer) {
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName(SERVICE + ":" + SERVICE_PORT)
                    .addDomains(SERVICE + ":" + SERVICE_PORT)
                    .addDomains(SERVICE)
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setCluster(CLUSTER)
                                    .setRetryPolicy(
                                        RetryPolicy.newBuilder()
                                            .setRetryOn(
                                                "connect-failure,refused-stream,reset,unavailable")
                                            .setNumRetries(UInt32Value.of(2))))))
            .build();
    Listener listener =
        Listener.newBuilder()
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
                            .setTypedConfig(
                                Any.pack(
                                    HttpConnectionManager.newBuilder()
                                        .setStatPrefix("outbound")
                                        .setRds(
                                            Rds.newBuilder()
                                                .setConfigSource(ADS)
                                                .setRouteConfigName("outbound"))
                                        .build()))))
            .build();
    Cluster cluster =
        Cluster.newBuilder()
            .setName(CLUSTER)
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
            .setConnectTimeout(Durations.fromSeconds(1))
            .setOutlierDetection(
                OutlierDetection.newBuilder()
                    .setConsecutive5Xx(UInt32Value.of(5))
                    .setConsecutiveGatewayFailure(UInt32Value.of(2))
                    .setSplitExternalLocalOriginErrors(true)
                    .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
                    .setInterval(Durations.fromSeconds(1))
                    .setBaseEjectionTime(Durations.fromSeconds(10))
                    .setMaxEjectionPercent(UInt32Value.of(100)))
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder()
                            .setMaxConnections(UInt32Value.of(100_000))
                            .setMaxPendingRequests(UInt32Value.of(100_000))
                            .setMaxRequests(UInt32Value.of(100_000))
                            .setRetryBudget(
                                CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                                    .setBudgetPercent(Percent.newBuilder().setValue(20))
                                    .setMinRetryConcurrency(UInt32Value.of(3)))))
            .setTransportSocket(mutualTls(peerId))
            .build();
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .setClusterName(CLUSTER)
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .setLoadBalancingWeight(UInt32Value.of(1))
                    .addLbEndpoints(
                        LbEndpoint.newBuilder()
                            .setEndpoint(
                                Endpoint.newBuilder()
                                    .setAddress(
                                        Address.newBuilder()
                                            .setSocketAddress(
                                                SocketAddress.newBuilder()
                                                    .setAddress(peer.getHostString())
                                                    .setPortValue(peer.getPort()))))))
            .build();
    Map<String, Cluster> clusters = new LinkedHashMap<>();
    clusters.put(CLUSTER, cluster);
    return new ProxyConfig(
        Map.of(OutboundRouting.LISTENER, listener),
        Map.of("outbound", routes),
        clusters,
        Map.of(CLUSTER, endpoints));
  }

  /** Istio's SNI for the service port, and only the peer's exact SPIFFE ID accepted. */
  private static TransportSocket mutualTls(String peerId) {
    UpstreamTlsContext tls =
        UpstreamTlsContext.newBuilder()
            .setSni(SNI)
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(
                                CertificateValidationContext.newBuilder()
                                    .addMatchTypedSubjectAltNames(
                                        SubjectAltNameMatcher.newBuilder()
                                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                                            .setMatcher(
                                                StringMatcher.newBuilder().setExact(peerId))))))
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(Any.pack(tls))
        .build();
  }
}
