package dev.fedmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.model.Backoff;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
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
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy's xDS client against java-control-plane's own server and cache, in process. */
class XdsClientTest {
  private static final String GROUP = "proxies";
  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private final SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
  private final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final String name = InProcessServerBuilder.generateName();
  private Server server;
  private ManagedChannel channel;
  private XdsClient client;

  @BeforeEach
  void startServer() throws Exception {
    server = startServer(name);
    channel = InProcessChannelBuilder.forName(name).build();
  }

  private Server startServer(String serverName) throws Exception {
    DiscoveryServerCallbacks recorder =
        new DiscoveryServerCallbacks() {
          @Override
          public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
            requests.add(request);
          }

          @Override
          public void onV3StreamDeltaRequest(
              long streamId,
              io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest request) {}
        };
    return InProcessServerBuilder.forName(serverName)
        .addService(
            new V3DiscoveryServer(List.of(recorder), cache).getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
  }

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    executor.shutdown();
    executor.awaitTermination(5, TimeUnit.SECONDS);
    channel.shutdownNow();
    server.shutdownNow();
  }

  private void startClient() {
    client =
        XdsClient.start(
            List.of(channel),
            Node.newBuilder().setId("proxy-1").build(),
            executor,
            new Backoff(Duration.ofMillis(10), Duration.ofMillis(100), new Random(1)),
            config -> {});
  }

  @Test
  void clustersWaitForTheirEndpointsAndListenersForTheirRoutes() throws Exception {
    // A scripted server sends exactly what the test says, in the order it says: here, clusters
    // web and api and a listener, but endpoints for web only and no routes.
    ScriptedAds script = new ScriptedAds();
    String scriptedName = InProcessServerBuilder.generateName();
    Server scripted =
        InProcessServerBuilder.forName(scriptedName).addService(script).build().start();
    ManagedChannel scriptedChannel = InProcessChannelBuilder.forName(scriptedName).build();
    try {
      client =
          XdsClient.start(
              List.of(scriptedChannel),
              Node.newBuilder().setId("proxy-1").build(),
              executor,
              new Backoff(Duration.ofMillis(10), Duration.ofMillis(100), new Random(1)),
              config -> {});
      await().atMost(Duration.ofSeconds(10)).until(script::connected);
      script.send(XdsClient.CDS, "1", edsCluster("web"), edsCluster("api"));
      script.send(XdsClient.LDS, "1", httpListener("outbound", "routes"));
      script.send(XdsClient.EDS, "1", assignment("web", "10.0.0.1", 8080));

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> client.current().clusters().containsKey("web"));
      assertThat(client.current().clusters()).containsOnlyKeys("web");
      assertThat(client.current().listeners()).isEmpty();
      assertThat(script.requestedNames(XdsClient.EDS)).containsExactlyInAnyOrder("api", "web");
      assertThat(script.requestedNames(XdsClient.RDS)).containsExactly("routes");

      script.send(
          XdsClient.EDS,
          "2",
          assignment("web", "10.0.0.1", 8080),
          assignment("api", "10.0.0.2", 9090));
      script.send(XdsClient.RDS, "1", routes("routes", "web"));

      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  client.current().listeners().containsKey("outbound")
                      && client
                          .current()
                          .clusters()
                          .keySet()
                          .equals(java.util.Set.of("web", "api")));
      assertThat(
              client
                  .current()
                  .endpointsOf("api")
                  .getEndpoints(0)
                  .getLbEndpoints(0)
                  .getEndpoint()
                  .getAddress()
                  .getSocketAddress()
                  .getPortValue())
          .isEqualTo(9090);
    } finally {
      client.close();
      client = null;
      scriptedChannel.shutdownNow();
      scripted.shutdownNow();
    }
  }

  /** An ADS server that answers nothing by itself: the test sends each response. */
  private static final class ScriptedAds
      extends io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc
          .AggregatedDiscoveryServiceImplBase {
    private final List<DiscoveryRequest> received = new CopyOnWriteArrayList<>();
    private volatile io.grpc.stub.StreamObserver<
            io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse>
        responses;
    private int nonce;

    @Override
    public io.grpc.stub.StreamObserver<DiscoveryRequest> streamAggregatedResources(
        io.grpc.stub.StreamObserver<io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse>
            responses) {
      this.responses = responses;
      return new io.grpc.stub.StreamObserver<>() {
        @Override
        public void onNext(DiscoveryRequest request) {
          received.add(request);
        }

        @Override
        public void onError(Throwable error) {}

        @Override
        public void onCompleted() {}
      };
    }

    boolean connected() {
      return responses != null;
    }

    synchronized void send(
        String typeUrl, String version, com.google.protobuf.Message... resources) {
      var response =
          io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setNonce(Integer.toString(++nonce));
      for (com.google.protobuf.Message resource : resources) {
        response.addResources(Any.pack(resource));
      }
      responses.onNext(response.build());
    }

    List<String> requestedNames(String typeUrl) {
      List<String> names = List.of();
      for (DiscoveryRequest request : received) {
        if (request.getTypeUrl().equals(typeUrl)) {
          names = request.getResourceNamesList();
        }
      }
      return names;
    }
  }

  @Test
  void anInvalidResourceIsNamedInTheNackAndTheRestIsUsed() {
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(edsCluster("web")),
            List.of(assignment("web", "10.0.0.1", 8080)),
            List.of(),
            List.of(),
            List.of(),
            "1"));
    startClient();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> client.current().clusters().containsKey("web"));

    Cluster broken =
        edsCluster("web").toBuilder()
            .setLbPolicy(Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG)
            .build();
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(broken, edsCluster("api")),
            List.of(assignment("web", "10.0.0.1", 8080), assignment("api", "10.0.0.2", 9090)),
            List.of(),
            List.of(),
            List.of(),
            "2"));

    await("a NACK naming the bad cluster")
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                requests.stream()
                    .anyMatch(
                        r ->
                            r.hasErrorDetail()
                                && r.getErrorDetail()
                                    .getMessage()
                                    .contains(
                                        "cluster 'web': lb_policy: LOAD_BALANCING_POLICY_CONFIG")));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> client.current().clusters().containsKey("api"));
    // The last good web is still the one in use.
    assertThat(client.current().clusters().get("web").getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    DiscoveryRequest nack =
        requests.stream().filter(DiscoveryRequest::hasErrorDetail).findFirst().orElseThrow();
    assertThat(nack.getVersionInfo()).isEqualTo("1");
  }

  @Test
  void theLastGoodConfigKeepsRunningWhileTheControllerIsAwayAndUpdatesFlowAfter() throws Exception {
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(edsCluster("web")),
            List.of(assignment("web", "10.0.0.1", 8080)),
            List.of(),
            List.of(),
            List.of(),
            "1"));
    startClient();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> client.current().clusters().containsKey("web"));

    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> !client.isConnected());
    assertThat(client.current().clusters()).containsOnlyKeys("web");

    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(edsCluster("web")),
            List.of(assignment("web", "10.0.0.9", 8080)),
            List.of(),
            List.of(),
            List.of(),
            "2"));
    server = startServer(name);

    await("reconnected and updated")
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client.isConnected()
                    && client.current().endpointsOf("web") != null
                    && client
                        .current()
                        .endpointsOf("web")
                        .getEndpoints(0)
                        .getLbEndpoints(0)
                        .getEndpoint()
                        .getAddress()
                        .getSocketAddress()
                        .getAddress()
                        .equals("10.0.0.9"));
  }

  @Test
  void deltaXdsDeliversChangesPerResourceRejectsBadOnesAndRemovesWhatIsGone() throws Exception {
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(edsCluster("web"), edsCluster("api")),
            List.of(assignment("web", "10.0.0.1", 8080), assignment("api", "10.0.0.2", 8080)),
            List.of(httpListener("outbound", "routes")),
            List.of(routes("routes", "web")),
            List.of(),
            "1"));
    client =
        XdsClient.start(
            List.of(channel),
            Node.newBuilder().setId("proxy-1").build(),
            executor,
            new Backoff(Duration.ofMillis(10), Duration.ofMillis(100), new Random(1)),
            config -> {},
            XdsClient.Protocol.DELTA);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client.current().clusters().keySet().equals(java.util.Set.of("web", "api"))
                    && client.current().listeners().containsKey("outbound"));

    // api goes away, web's endpoint moves, and a new cluster is one the proxy cannot run.
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            List.of(
                edsCluster("web"),
                edsCluster("bad").toBuilder()
                    .setLbPolicy(Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG)
                    .build()),
            List.of(assignment("web", "10.0.0.9", 8080)),
            List.of(httpListener("outbound", "routes")),
            List.of(routes("routes", "web")),
            List.of(),
            "2"));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(client.current().clusters()).containsOnlyKeys("web");
              assertThat(
                      client
                          .current()
                          .endpointsOf("web")
                          .getEndpoints(0)
                          .getLbEndpoints(0)
                          .getEndpoint()
                          .getAddress()
                          .getSocketAddress()
                          .getAddress())
                  .isEqualTo("10.0.0.9");
              assertThat(client.lastError()).contains("cluster 'bad'", "lb_policy");
            });
    assertThat(client.current().listeners()).containsKey("outbound");
  }

  private boolean requested(String typeUrl, String name) {
    return requests.stream()
        .anyMatch(r -> r.getTypeUrl().equals(typeUrl) && r.getResourceNamesList().contains(name));
  }

  private static Cluster edsCluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(name))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .build();
  }

  private static ClusterLoadAssignment assignment(String cluster, String address, int port) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
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
                                                .setAddress(address)
                                                .setPortValue(port))))))
        .build();
  }

  private static Listener httpListener(String name, String routeConfig) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(name)
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeConfig))
            .build();
    return Listener.newBuilder()
        .setName(name)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(15001)))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(manager))))
        .build();
  }

  private static RouteConfiguration routes(String name, String cluster) {
    return RouteConfiguration.newBuilder()
        .setName(name)
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName("all")
                .addDomains("*")
                .addRoutes(
                    Route.newBuilder()
                        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(RouteAction.newBuilder().setCluster(cluster))))
        .build();
  }
}
