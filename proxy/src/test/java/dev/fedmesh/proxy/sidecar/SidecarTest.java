package dev.fedmesh.proxy.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A whole sidecar against java-control-plane's ADS server and cache, over real loopback sockets.
 */
class SidecarTest {
  static {
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private final SimpleCache<String> cache = new SimpleCache<>(node -> "sidecars");
  private final NioEventLoopGroup group = new NioEventLoopGroup(2);
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private Server controlPlane;
  private int controlPlanePort;
  private int version;

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    if (controlPlane != null) {
      controlPlane.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void startControlPlane(int port) throws Exception {
    controlPlane =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .addService(new V3DiscoveryServer(cache).getAggregatedDiscoveryServiceImpl())
            .build()
            .start();
    controlPlanePort = controlPlane.getPort();
  }

  private InetSocketAddress app(String name) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext(
        "/",
        exchange -> {
          byte[] body = name.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    closeables.add(() -> server.stop(0));
    return server.getAddress();
  }

  private void publish(List<Cluster> clusters, InetSocketAddress... endpoints) {
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName("web");
    LocalityLbEndpoints.Builder locality =
        LocalityLbEndpoints.newBuilder().setLoadBalancingWeight(UInt32Value.of(1));
    for (InetSocketAddress endpoint : endpoints) {
      locality.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress(endpoint.getHostString())
                                      .setPortValue(endpoint.getPort())))));
    }
    assignment.addEndpoints(locality);
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("web")
                    .addDomains("web.test")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster("web"))))
            .build();
    Listener listener =
        Listener.newBuilder()
            .setName("virtualOutbound")
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
                                com.google.protobuf.Any.pack(
                                    HttpConnectionManager.newBuilder()
                                        .setStatPrefix("outbound")
                                        .setRds(
                                            Rds.newBuilder()
                                                .setConfigSource(ADS)
                                                .setRouteConfigName("outbound"))
                                        .build()))))
            .build();
    cache.setSnapshot(
        "sidecars",
        Snapshot.create(
            clusters,
            List.of(assignment.build()),
            List.of(listener),
            List.of(routes),
            List.of(),
            "v" + (++version)));
  }

  private static Cluster web() {
    return Cluster.newBuilder()
        .setName("web")
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
        .setConnectTimeout(Durations.fromMillis(500))
        .build();
  }

  @Test
  void theNodeAnnouncesThePodAddressesTheSidecarBindsButNoWildcard() {
    SidecarBootstrap bootstrap =
        new SidecarBootstrap(
            new SidecarBootstrap.NodeIdentity(
                "payments-1", "west", "west", "us-west", "us-west-a", "shop", "payments", Map.of()),
            List.of("127.0.0.1:15012"),
            Optional.empty(),
            Optional.of(new InetSocketAddress("127.2.1.12", 15001)),
            Optional.of(new InetSocketAddress("0.0.0.0", 15000)),
            List.of(
                new dev.fedmesh.proxy.http.InboundPort(
                    new InetSocketAddress("127.2.1.12", 8080),
                    new InetSocketAddress("127.0.0.1", 18080),
                    dev.fedmesh.proxy.http.InboundPort.AppProtocol.HTTP,
                    dev.fedmesh.proxy.http.InboundPort.TlsMode.PERMISSIVE)),
            dev.fedmesh.proxy.xds.XdsClient.Protocol.STATE_OF_THE_WORLD,
            false,
            SidecarBootstrap.DEFAULT_PROTOCOL_DETECTION_TIMEOUT,
            SidecarBootstrap.Interception.NONE,
            Optional.of(new InetSocketAddress("127.2.1.12", 15090)));

    var node = Sidecar.node(bootstrap);

    // The controller's traffic view scrapes <first address>:15090; Istio names the field so.
    assertThat(
            node.getMetadata()
                .getFieldsOrThrow(dev.fedmesh.model.NodeMetadata.INSTANCE_IPS)
                .getListValue()
                .getValuesList())
        .extracting(com.google.protobuf.Value::getStringValue)
        .containsExactly("127.2.1.12");
  }

  private Sidecar sidecar() throws Exception {
    return sidecar(dev.fedmesh.proxy.xds.XdsClient.Protocol.STATE_OF_THE_WORLD);
  }

  private Sidecar sidecar(dev.fedmesh.proxy.xds.XdsClient.Protocol protocol) throws Exception {
    SidecarBootstrap bootstrap =
        new SidecarBootstrap(
            new SidecarBootstrap.NodeIdentity(
                "web-client-1",
                "east",
                "east",
                "us-east",
                "us-east-a",
                "shop",
                "client",
                Map.of("app", "client")),
            List.of("127.0.0.1:" + controlPlanePort),
            Optional.empty(),
            Optional.of(new InetSocketAddress("127.0.0.1", 0)),
            Optional.of(new InetSocketAddress("127.0.0.1", 0)),
            List.of(),
            protocol,
            false,
            SidecarBootstrap.DEFAULT_PROTOCOL_DETECTION_TIMEOUT,
            SidecarBootstrap.Interception.NONE,
            Optional.of(new InetSocketAddress("127.0.0.1", 0)));
    Sidecar sidecar = Sidecar.start(bootstrap, group);
    closeables.add(sidecar);
    return sidecar;
  }

  private static String get(HttpClient client, String url) throws Exception {
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
    return response.statusCode() + " " + response.body();
  }

  private static HttpClient through(Sidecar sidecar) {
    return HttpClient.newBuilder()
        .proxy(ProxySelector.of(sidecar.proxy().outboundAddress().orElseThrow()))
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  @Test
  void configFromTheControlPlaneRoutesTrafficAndTheAdminShowsIt() throws Exception {
    startControlPlane(0);
    InetSocketAddress blue = app("blue");
    publish(List.of(web()), blue);
    Sidecar sidecar = sidecar();
    HttpClient client = through(sidecar);
    HttpClient admin = HttpClient.newHttpClient();
    String adminBase = "http://127.0.0.1:" + sidecar.adminAddress().orElseThrow().getPort();

    await().atMost(Duration.ofSeconds(10)).until(sidecar::isReady);
    assertThat(get(client, "http://web.test/")).isEqualTo("200 blue");
    assertThat(get(admin, adminBase + "/ready")).isEqualTo("200 LIVE\n");
    assertThat(get(admin, adminBase + "/config_dump"))
        .contains(
            "\"virtualOutbound\"",
            "web.test",
            "type.googleapis.com/envoy.admin.v3.ClustersConfigDump");
    assertThat(get(admin, adminBase + "/clusters"))
        .contains("web::127.0.0.1:" + blue.getPort() + "::health_flags::healthy");
    assertThat(get(admin, adminBase + "/stats/prometheus"))
        .contains("fedmesh_upstream_rq_completed_total{cluster=\"web\"} 1")
        .contains("istio_requests_total{")
        .contains("reporter=\"source\"");
    assertThat(get(admin, adminBase + "/stats"))
        .startsWith("200 ")
        .contains("fedmesh_upstream_rq_completed_total{cluster=\"web\"}: 1")
        .doesNotContain("# TYPE");
    assertThat(get(admin, adminBase + "/logging")).startsWith("200 ").contains("root: ");
    assertThat(post(admin, adminBase + "/logging?dev.fedmesh.proxy.http=debug"))
        .startsWith("200 ")
        .contains("dev.fedmesh.proxy.http: debug");
    assertThat(post(admin, adminBase + "/logging?dev.fedmesh.proxy.http=info"))
        .contains("dev.fedmesh.proxy.http: info");
    assertThat(post(admin, adminBase + "/logging?level=loud"))
        .startsWith("400 ")
        .contains("level 'loud'");
    assertThat(get(admin, adminBase + "/logging?level=debug")).startsWith("405 ");
    // Istio's stats port: the metrics, and nothing else of the admin pages.
    String statsBase = "http://127.0.0.1:" + sidecar.statsAddress().orElseThrow().getPort();
    assertThat(get(admin, statsBase + "/stats/prometheus"))
        .startsWith("200 ")
        .contains("istio_requests_total{");
    assertThat(get(admin, statsBase + "/config_dump")).startsWith("404 ");
  }

  private static String post(HttpClient client, String url) throws Exception {
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create(url))
                .POST(HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return response.statusCode() + " " + response.body();
  }

  @Test
  void overDeltaXdsTheSidecarRoutesAndFollowsEndpointChanges() throws Exception {
    startControlPlane(0);
    InetSocketAddress blue = app("blue");
    InetSocketAddress green = app("green");
    publish(List.of(web()), blue);
    Sidecar sidecar = sidecar(dev.fedmesh.proxy.xds.XdsClient.Protocol.DELTA);
    HttpClient client = through(sidecar);

    await().atMost(Duration.ofSeconds(10)).until(sidecar::isReady);
    assertThat(get(client, "http://web.test/")).isEqualTo("200 blue");
    publish(List.of(web()), green);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(get(client, "http://web.test/")).isEqualTo("200 green"));
  }

  @Test
  void aRejectedClusterKeepsTheLastGoodConfigAndTheRestApplies() throws Exception {
    startControlPlane(0);
    InetSocketAddress blue = app("blue");
    InetSocketAddress green = app("green");
    publish(List.of(web()), blue);
    Sidecar sidecar = sidecar();
    HttpClient client = through(sidecar);
    await().atMost(Duration.ofSeconds(10)).until(sidecar::isReady);

    // The same cluster, now with a load balancer the proxy does not have: NACKed by name;
    // the endpoints in the same push (green) still apply to the last good cluster.
    publish(
        List.of(
            web().toBuilder().setLbPolicy(Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG).build()),
        green);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(sidecar.lastXdsError()).contains("cluster 'web'", "lb_policy"));
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(get(client, "http://web.test/")).isEqualTo("200 green"));
    assertThat(sidecar.config().clusters().get("web").getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
  }

  @Test
  void trafficKeepsFlowingWhileTheControlPlaneIsAwayAndNewConfigArrivesWhenItIsBack()
      throws Exception {
    startControlPlane(0);
    int port = controlPlanePort;
    InetSocketAddress blue = app("blue");
    InetSocketAddress green = app("green");
    publish(List.of(web()), blue);
    Sidecar sidecar = sidecar();
    HttpClient client = through(sidecar);
    await().atMost(Duration.ofSeconds(10)).until(sidecar::isReady);

    controlPlane.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> !sidecar.xdsConnected());
    for (int i = 0; i < 20; i++) {
      assertThat(get(client, "http://web.test/")).isEqualTo("200 blue");
    }

    publish(List.of(web()), green);
    startControlPlane(port);
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(() -> assertThat(get(client, "http://web.test/")).isEqualTo("200 green"));
  }
}
