package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceKey;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConfigGeneratorTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality EAST_B = Locality.of("us-east", "us-east-b");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final Locality CENTRAL_A = Locality.of("eu-central", "eu-central-a");
  private static final String ECHO_CLUSTER = "outbound|7070||echo.default.svc.cluster.local";
  private static final String ECHO_HOST_PORT = "echo.default.svc.cluster.local:7070";

  private static ProxyContext grpcClient(String cluster, String network, Locality locality) {
    return new ProxyContext(ProxyRole.PROXYLESS_GRPC, cluster, network, locality);
  }

  @Test
  void singleClusterGivesGrpcClientsAnApiListenerRoutesAClusterAndEndpoints() throws Exception {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, endpoint("10.1.0.1", 50051, EAST_A))
            .build();

    XdsResources resources = ConfigGenerator.generate(snapshot, grpcClient("east", "east", EAST_A));

    assertThat(resources.listeners()).containsOnlyKeys(ECHO_HOST_PORT);
    Listener listener = resources.listeners().get(ECHO_HOST_PORT);
    HttpConnectionManager manager =
        listener.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    assertThat(manager.getRds().getRouteConfigName()).isEqualTo(ECHO_HOST_PORT);
    assertThat(manager.getRds().getConfigSource().hasAds()).isTrue();
    // The fault filter (faults come per route from VirtualServices), then the router, last.
    assertThat(manager.getHttpFiltersList())
        .extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(manager.getHttpFilters(1).getTypedConfig().is(Router.class)).isTrue();

    RouteConfiguration routes = resources.routes().get(ECHO_HOST_PORT);
    assertThat(routes.getVirtualHostsList()).hasSize(1);
    assertThat(routes.getVirtualHosts(0).getDomainsList())
        .contains(ECHO_HOST_PORT, "echo.default.svc.cluster.local", "echo", "echo:7070");
    assertThat(routes.getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
        .isEqualTo(ECHO_CLUSTER);

    Cluster cluster = resources.clusters().get(ECHO_CLUSTER);
    assertThat(cluster.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(cluster.getEdsClusterConfig().getServiceName()).isEqualTo(ECHO_CLUSTER);
    assertThat(cluster.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();

    ClusterLoadAssignment assignment = resources.endpoints().get(ECHO_CLUSTER);
    assertThat(assignment.getEndpointsList()).hasSize(1);
    LocalityLbEndpoints locality = assignment.getEndpoints(0);
    assertThat(locality.getPriority()).isZero();
    assertThat(locality.getLocality().getZone()).isEqualTo("us-east-a");
    assertThat(locality.getLoadBalancingWeight().getValue()).isEqualTo(1);
    assertThat(addresses(locality)).containsExactly("10.1.0.1:50051");
    assertThat(ResourceConsistency.problems(resources)).isEmpty();
  }

  @Test
  void prioritiesFollowZoneThenRegionThenOtherRegions() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .cluster("west", "mesh", WEST_A)
            .cluster("central", "mesh", CENTRAL_A)
            .service(
                "east",
                ECHO,
                GRPC_7070,
                true,
                endpoint("10.1.0.1", 8080, EAST_A),
                endpoint("10.1.0.2", 8080, EAST_B))
            .service("west", ECHO, GRPC_7070, true, endpoint("10.2.0.1", 8080, WEST_A))
            .service("central", ECHO, GRPC_7070, true, endpoint("10.3.0.1", 8080, CENTRAL_A))
            .build();

    Map<Integer, List<String>> fromEastA =
        byPriority(ConfigGenerator.generate(snapshot, grpcClient("east", "mesh", EAST_A)));
    Map<Integer, List<String>> fromWest =
        byPriority(ConfigGenerator.generate(snapshot, grpcClient("west", "mesh", WEST_A)));

    assertThat(fromEastA)
        .containsExactly(
            Map.entry(0, List.of("10.1.0.1:8080")),
            Map.entry(1, List.of("10.1.0.2:8080")),
            Map.entry(2, List.of("10.3.0.1:8080", "10.2.0.1:8080")));
    // No endpoint shares the west proxy's region but its own: the levels close up, as Envoy
    // and gRPC require priorities without gaps.
    assertThat(fromWest)
        .containsExactly(
            Map.entry(0, List.of("10.2.0.1:8080")),
            Map.entry(1, List.of("10.3.0.1:8080", "10.1.0.1:8080", "10.1.0.2:8080")));
  }

  @Test
  void aProxyWithoutLocalitySeesEveryEndpointAtPriorityZero() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .cluster("west", "mesh", WEST_A)
            .service("east", ECHO, GRPC_7070, true, endpoint("10.1.0.1", 8080, EAST_A))
            .service("west", ECHO, GRPC_7070, true, endpoint("10.2.0.1", 8080, WEST_A))
            .build();

    Map<Integer, List<String>> priorities =
        byPriority(ConfigGenerator.generate(snapshot, grpcClient("", "", Locality.UNKNOWN)));

    assertThat(priorities).containsOnlyKeys(0);
    assertThat(priorities.get(0)).containsExactlyInAnyOrder("10.1.0.1:8080", "10.2.0.1:8080");
  }

  @Test
  void endpointsOnAnotherNetworkCollapseToTheirGatewayWeightedByHealthyCount() {
    Locality centralB = Locality.of("eu-central", "eu-central-b");
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "net-east", EAST_A)
            .cluster("central", "net-central", CENTRAL_A, new GatewayAddress("127.3.0.1", 15443))
            .service("east", ECHO, GRPC_7070, true, endpoint("127.1.0.5", 8080, EAST_A))
            .service(
                "central",
                ECHO,
                GRPC_7070,
                true,
                endpoint("127.3.1.1", 8080, CENTRAL_A),
                endpoint("127.3.1.2", 8080, centralB),
                endpoint("127.3.1.3", 8080, CENTRAL_A),
                endpoint("127.3.1.4", 8080, CENTRAL_A, EndpointHealth.UNHEALTHY))
            .build();

    ClusterLoadAssignment assignment =
        ConfigGenerator.generate(snapshot, grpcClient("east", "net-east", EAST_A))
            .endpoints()
            .get(ECHO_CLUSTER);

    assertThat(assignment.getEndpointsList()).hasSize(2);
    LocalityLbEndpoints remote = assignment.getEndpoints(1);
    assertThat(remote.getPriority()).isEqualTo(1);
    assertThat(addresses(remote)).containsExactly("127.3.0.1:15443");
    assertThat(remote.getLbEndpoints(0).getLoadBalancingWeight().getValue()).isEqualTo(3);
    assertThat(remote.getLoadBalancingWeight().getValue()).isEqualTo(3);
    assertThat(remote.getLocality().getRegion()).isEqualTo("eu-central");
  }

  @Test
  void unexportedServicesDoNotCrossNetworks() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "net-east", EAST_A)
            .cluster("central", "net-central", CENTRAL_A, new GatewayAddress("127.3.0.1", 15443))
            .service("central", ECHO, GRPC_7070, false, endpoint("127.3.1.1", 8080, CENTRAL_A))
            .build();

    ClusterLoadAssignment fromEast =
        ConfigGenerator.generate(snapshot, grpcClient("east", "net-east", EAST_A))
            .endpoints()
            .get(ECHO_CLUSTER);
    ClusterLoadAssignment fromCentral =
        ConfigGenerator.generate(snapshot, grpcClient("central", "net-central", CENTRAL_A))
            .endpoints()
            .get(ECHO_CLUSTER);

    assertThat(fromEast.getEndpointsList()).isEmpty();
    assertThat(addresses(fromCentral.getEndpoints(0))).containsExactly("127.3.1.1:8080");
  }

  @Test
  void endpointHealthFollowsTheEndpointSliceConditions() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service(
                "east",
                ECHO,
                GRPC_7070,
                false,
                endpoint("10.1.0.1", 8080, EAST_A, EndpointHealth.HEALTHY),
                endpoint("10.1.0.2", 8080, EAST_A, EndpointHealth.DRAINING),
                endpoint("10.1.0.3", 8080, EAST_A, EndpointHealth.UNHEALTHY))
            .build();

    LocalityLbEndpoints locality =
        ConfigGenerator.generate(snapshot, grpcClient("east", "east", EAST_A))
            .endpoints()
            .get(ECHO_CLUSTER)
            .getEndpoints(0);

    assertThat(locality.getLbEndpointsList())
        .extracting(LbEndpoint::getHealthStatus)
        .containsExactly(HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNHEALTHY);
    // Only healthy endpoints count toward the locality's share of traffic.
    assertThat(locality.getLoadBalancingWeight().getValue()).isEqualTo(1);
  }

  @Test
  void sidecarsGetTheOutboundListenerAndOneVirtualHostPerServicePort() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, endpoint("10.1.0.1", 8080, EAST_A))
            .build();

    XdsResources sidecar =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A));

    assertThat(sidecar.listeners()).containsOnlyKeys("virtualOutbound");
    assertThat(
            sidecar
                .listeners()
                .get("virtualOutbound")
                .getAddress()
                .getSocketAddress()
                .getPortValue())
        .isEqualTo(15001);
    assertThat(sidecar.routes()).containsOnlyKeys("outbound");
    var host = sidecar.routes().get("outbound").getVirtualHosts(0);
    assertThat(host.getDomainsList())
        .containsExactly(
            "echo.default.svc.cluster.local:7070",
            "echo.default.svc:7070",
            "echo.default:7070",
            "echo:7070");
    assertThat(host.getRoutesList())
        .allSatisfy(route -> assertThat(route.getRoute().getCluster()).isEqualTo(ECHO_CLUSTER));
    assertThat(host.getRoutes(0).getMatch().hasConnectMatcher()).isTrue();
    // Beside the service's cluster, where the default chain sends unknown destinations.
    assertThat(sidecar.clusters()).containsOnlyKeys(ECHO_CLUSTER, "PassthroughCluster");
    // A gRPC port: the sidecar speaks HTTP/2 to the server's sidecar.
    assertThat(sidecar.clusters().get(ECHO_CLUSTER).getTypedExtensionProtocolOptionsMap())
        .containsKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
    assertThat(sidecar.endpoints()).containsOnlyKeys(ECHO_CLUSTER);
  }

  @Test
  void twoServicesClaimingOneShortNameKeepEveryDomainUnique() {
    ServiceKey other = ServiceKey.of("other", "echo");
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, endpoint("10.1.0.1", 8080, EAST_A))
            .service("east", other, GRPC_7070, false, endpoint("10.1.0.2", 8080, EAST_A))
            .build();

    XdsResources sidecar =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A));

    List<String> domains =
        sidecar.routes().get("outbound").getVirtualHostsList().stream()
            .flatMap(h -> h.getDomainsList().stream())
            .toList();
    assertThat(domains)
        .doesNotHaveDuplicates()
        .contains("echo.other.svc.cluster.local:7070", "echo:7070");
  }

  @Test
  void theSameInputsAlwaysGiveEqualResources() {
    List<Endpoint> endpoints =
        List.of(endpoint("10.1.0.2", 8080, EAST_B), endpoint("10.1.0.1", 8080, EAST_A));
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, endpoints.toArray(Endpoint[]::new))
            .build();
    ProxyContext proxy = grpcClient("east", "east", EAST_A);

    assertThat(ConfigGenerator.generate(snapshot, proxy))
        .isEqualTo(ConfigGenerator.generate(snapshot, proxy));
  }

  @Test
  void otherRegionsComeInTheConfiguredFailoverOrder() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .cluster("west", "mesh", WEST_A)
            .cluster("central", "mesh", CENTRAL_A)
            .cluster("south", "mesh", Locality.of("sa-east", "sa-east-a"))
            .service("west", ECHO, GRPC_7070, true, endpoint("10.2.0.1", 8080, WEST_A))
            .service("central", ECHO, GRPC_7070, true, endpoint("10.3.0.1", 8080, CENTRAL_A))
            .service(
                "south",
                ECHO,
                GRPC_7070,
                true,
                endpoint("10.4.0.1", 8080, Locality.of("sa-east", "a")))
            .failover("us-east", "central-does-not-exist", "us-west", "eu-central")
            .build();

    Map<Integer, List<String>> fromEast =
        byPriority(ConfigGenerator.generate(snapshot, grpcClient("east", "mesh", EAST_A)));

    // us-west before eu-central as configured; sa-east is not listed, so it comes last.
    assertThat(fromEast)
        .containsExactly(
            Map.entry(0, List.of("10.2.0.1:8080")),
            Map.entry(1, List.of("10.3.0.1:8080")),
            Map.entry(2, List.of("10.4.0.1:8080")));
  }

  @Test
  void aClusterPastItsGraceDropsBelowEverythingAndAnExpiredOneIsNotServed() {
    MeshSnapshot demoted =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .cluster("central", "mesh", CENTRAL_A)
            .service("east", ECHO, GRPC_7070, true, endpoint("10.1.0.1", 8080, EAST_A))
            .service("central", ECHO, GRPC_7070, true, endpoint("10.3.0.1", 8080, CENTRAL_A))
            .liveness("east", Liveness.DEMOTED)
            .build();
    MeshSnapshot inGrace =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .service("east", ECHO, GRPC_7070, true, endpoint("10.1.0.1", 8080, EAST_A))
            .liveness("east", Liveness.GRACE)
            .build();
    MeshSnapshot expired =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .service("east", ECHO, GRPC_7070, true, endpoint("10.1.0.1", 8080, EAST_A))
            .liveness("east", Liveness.EXPIRED)
            .build();
    ProxyContext proxy = grpcClient("east", "mesh", EAST_A);

    assertThat(byPriority(ConfigGenerator.generate(demoted, proxy)))
        .containsExactly(
            Map.entry(0, List.of("10.3.0.1:8080")), Map.entry(1, List.of("10.1.0.1:8080")));
    assertThat(byPriority(ConfigGenerator.generate(inGrace, proxy)))
        .containsExactly(Map.entry(0, List.of("10.1.0.1:8080")));
    assertThat(
            ConfigGenerator.generate(expired, proxy)
                .endpoints()
                .get(ECHO_CLUSTER)
                .getEndpointsList())
        .isEmpty();
  }

  @Test
  void sidecarClustersOriginateMutualTlsWithTheSniThatNamesTheService() throws Exception {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service(
                "east",
                ECHO,
                GRPC_7070,
                false,
                withAccount("10.1.0.1", "echo"),
                withAccount("10.1.0.2", "echo-canary"),
                withAccount("10.1.0.3", "echo"))
            .build();

    UpstreamTlsContext tls = upstreamTls(snapshot);
    assertThat(tls.getSni()).isEqualTo("outbound_.7070_._.echo.default.svc.cluster.local");
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("default");
    assertThat(
            tls.getCommonTlsContext()
                .getCombinedValidationContext()
                .getValidationContextSdsSecretConfig()
                .getName())
        .isEqualTo("ROOTCA");
    // Exactly the service's own accounts: a certificate of another workload is refused.
    assertThat(
            tls.getCommonTlsContext()
                .getCombinedValidationContext()
                .getDefaultValidationContext()
                .getMatchTypedSubjectAltNamesList())
        .extracting(san -> san.getMatcher().getExact())
        .containsExactly(
            "spiffe://fedmesh.local/ns/default/sa/echo",
            "spiffe://fedmesh.local/ns/default/sa/echo-canary");
  }

  @Test
  void endpointsThatNameNoAccountFallBackToTheTrustDomain() throws Exception {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, withAccount("10.1.0.1", ""))
            .build();

    assertThat(
            upstreamTls(snapshot)
                .getCommonTlsContext()
                .getCombinedValidationContext()
                .getDefaultValidationContext()
                .getMatchTypedSubjectAltNamesList())
        .extracting(san -> san.getMatcher().getPrefix())
        .containsExactly("spiffe://fedmesh.local/");
  }

  private static UpstreamTlsContext upstreamTls(MeshSnapshot snapshot) throws Exception {
    Cluster cluster =
        ConfigGenerator.generate(
                snapshot, new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A))
            .clusters()
            .get(ECHO_CLUSTER);
    return cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }

  private static dev.fedmesh.model.Endpoint withAccount(String address, String account) {
    return new dev.fedmesh.model.Endpoint(
        address,
        Map.of("grpc", 8080),
        EAST_A,
        dev.fedmesh.model.EndpointHealth.HEALTHY,
        Map.of(),
        account,
        1,
        "");
  }

  @Test
  void everyOutboundClusterDetectsOutliersAndRoutesRetryUnavailable() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .service("east", ECHO, GRPC_7070, false, endpoint("10.1.0.1", 8080, EAST_A))
            .build();

    XdsResources resources = ConfigGenerator.generate(snapshot, grpcClient("east", "east", EAST_A));

    Cluster cluster = resources.clusters().get(ECHO_CLUSTER);
    assertThat(cluster.getOutlierDetection().getConsecutiveGatewayFailure().getValue())
        .isEqualTo(2);
    assertThat(cluster.getOutlierDetection().getMaxEjectionPercent().getValue()).isEqualTo(100);
    assertThat(
            cluster
                .getCircuitBreakers()
                .getThresholds(0)
                .getRetryBudget()
                .getBudgetPercent()
                .getValue())
        .isEqualTo(20.0);
    assertThat(
            resources
                .routes()
                .get(ECHO_HOST_PORT)
                .getVirtualHosts(0)
                .getRoutes(0)
                .getRoute()
                .getRetryPolicy()
                .getRetryOn())
        .isEqualTo("unavailable");
  }

  @Test
  void theGatewayPassesEachExportedLocalServiceThroughBySni() throws Exception {
    ServiceKey internal = ServiceKey.of("default", "internal");
    MeshSnapshot snapshot =
        mesh()
            .cluster("west", "net-west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
            .cluster("central", "net-central", CENTRAL_A, new GatewayAddress("127.3.0.1", 15443))
            .service("west", ECHO, GRPC_7070, true, endpoint("127.2.1.1", 8080, WEST_A))
            .service("west", internal, GRPC_7070, false, endpoint("127.2.1.2", 8080, WEST_A))
            .service("central", ECHO, GRPC_7070, true, endpoint("127.3.1.1", 8080, CENTRAL_A))
            .build();

    XdsResources gateway =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.GATEWAY, "west", "net-west", WEST_A));

    String sni = "outbound_.7070_._.echo.default.svc.cluster.local";
    Listener listener = gateway.listeners().get("0.0.0.0_15443");
    assertThat(listener.getAddress().getSocketAddress().getPortValue()).isEqualTo(15443);
    assertThat(listener.getListenerFilters(0).getTypedConfig().is(TlsInspector.class)).isTrue();
    assertThat(listener.getFilterChainsList())
        .singleElement()
        .satisfies(
            chain -> {
              assertThat(chain.getFilterChainMatch().getServerNamesList()).containsExactly(sni);
              assertThat(chain.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster())
                  .isEqualTo(sni);
            });
    assertThat(gateway.clusters()).containsOnlyKeys(sni);
    // Only the gateway's own cluster's endpoints: central's copy is central's gateway's business.
    assertThat(addresses(gateway.endpoints().get(sni).getEndpoints(0)))
        .containsExactly("127.2.1.1:8080");
    assertThat(ResourceConsistency.problems(gateway)).isEmpty();
  }

  private static Map<Integer, List<String>> byPriority(XdsResources resources) {
    ClusterLoadAssignment assignment = resources.endpoints().get(ECHO_CLUSTER);
    return assignment.getEndpointsList().stream()
        .collect(
            Collectors.groupingBy(
                LocalityLbEndpoints::getPriority,
                TreeMap::new,
                Collectors.flatMapping(l -> addresses(l).stream(), Collectors.toList())));
  }

  private static List<String> addresses(LocalityLbEndpoints locality) {
    return locality.getLbEndpointsList().stream()
        .map(e -> e.getEndpoint().getAddress().getSocketAddress())
        .map(a -> a.getAddress() + ":" + a.getPortValue())
        .toList();
  }
}
