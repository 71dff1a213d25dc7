package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** VirtualService and DestinationRule fields, each against the Envoy protos they become. */
class PolicyTranslationTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final Locality CENTRAL_A = Locality.of("eu-central", "eu-central-a");
  private static final ServiceKey CHECKOUT = ServiceKey.of("shop", "checkout");
  private static final ServiceKey PAYMENTS = ServiceKey.of("shop", "payments");
  private static final ServicePort HTTP_8080 = new ServicePort("http", 8080, Protocol.HTTP);
  private static final String HOST_PORT = "checkout.shop.svc.cluster.local:8080";
  private static final ProxyContext SIDECAR =
      new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A);

  private static final String SUBSETS =
      """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: checkout, namespace: shop}
      spec:
        host: checkout
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
      """;

  private static Endpoint pod(String address, String version, Locality locality) {
    return new Endpoint(
        address,
        Map.of("http", 8080),
        locality,
        EndpointHealth.HEALTHY,
        Map.of("app", "checkout", "version", version),
        "checkout",
        1,
        "checkout-" + version);
  }

  private static MeshFixtures shop() {
    return mesh()
        .cluster("east", "mesh", EAST_A)
        .cluster("west", "mesh", WEST_A)
        .cluster("central", "mesh", CENTRAL_A)
        .shard(
            "east",
            CHECKOUT,
            List.of(HTTP_8080),
            true,
            pod("10.1.0.1", "v1", EAST_A),
            pod("10.1.0.2", "v2", EAST_A))
        .shard("west", CHECKOUT, List.of(HTTP_8080), true, pod("10.2.0.1", "v1", WEST_A))
        .shard("central", CHECKOUT, List.of(HTTP_8080), true, pod("10.3.0.1", "v1", CENTRAL_A))
        .shard(
            "west",
            PAYMENTS,
            List.of(HTTP_8080),
            true,
            new Endpoint(
                "10.2.0.9",
                Map.of("http", 8080),
                WEST_A,
                EndpointHealth.HEALTHY,
                Map.of(),
                "payments",
                1,
                "payments"));
  }

  private static XdsResources generate(MeshSnapshot mesh) {
    XdsResources resources = ConfigGenerator.generate(mesh, SIDECAR);
    assertThat(ResourceConsistency.problems(resources)).isEmpty();
    return resources;
  }

  private static VirtualHost checkoutHost(XdsResources resources) {
    RouteConfiguration routes = resources.routes().get(SidecarOutbound.ROUTES);
    return routes.getVirtualHostsList().stream()
        .filter(h -> h.getName().equals(HOST_PORT))
        .findFirst()
        .orElseThrow();
  }

  /** The routes after the CONNECT route every host keeps. */
  private static List<Route> routes(XdsResources resources) {
    List<Route> routes = checkoutHost(resources).getRoutesList();
    assertThat(routes.get(0).getName()).isEqualTo("connect");
    return routes.subList(1, routes.size());
  }

  @Test
  void subsetsBecomeClustersWhoseEndpointsCarryTheSubsetLabels() {
    XdsResources resources = generate(shop().policies(SUBSETS).build());

    assertThat(resources.clusters())
        .containsKeys(
            "outbound|8080||checkout.shop.svc.cluster.local",
            "outbound|8080|v1|checkout.shop.svc.cluster.local",
            "outbound|8080|v2|checkout.shop.svc.cluster.local");
    ClusterLoadAssignment v2 =
        resources.endpoints().get("outbound|8080|v2|checkout.shop.svc.cluster.local");
    assertThat(addresses(v2)).containsExactly("10.1.0.2");
    ClusterLoadAssignment v1 =
        resources.endpoints().get("outbound|8080|v1|checkout.shop.svc.cluster.local");
    assertThat(addresses(v1)).containsExactlyInAnyOrder("10.1.0.1", "10.2.0.1", "10.3.0.1");
    // The subset's SNI, so a gateway can tell subsets apart.
    assertThat(
            resources
                .clusters()
                .get("outbound|8080|v2|checkout.shop.svc.cluster.local")
                .getTransportSocket()
                .getTypedConfig()
                .toString())
        .contains("outbound_.8080_.v2_.checkout.shop.svc.cluster.local");
  }

  @Test
  void weightedRoutesSplitTrafficBetweenSubsetClusters() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    SUBSETS
                        + """
                        ---
                        apiVersion: networking.istio.io/v1
                        kind: VirtualService
                        metadata: {name: checkout, namespace: shop}
                        spec:
                          hosts: [checkout]
                          http:
                          - route:
                            - destination: {host: checkout, subset: v1}
                              weight: 90
                            - destination: {host: checkout, subset: v2}
                              weight: 10
                              headers: {response: {set: {x-version: v2}}}
                        """)
                .build());

    Route route = routes(resources).get(0);
    assertThat(route.getMatch().getPrefix()).isEqualTo("/");
    var clusters = route.getRoute().getWeightedClusters().getClustersList();
    assertThat(clusters)
        .extracting(c -> c.getName(), c -> c.getWeight().getValue())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "outbound|8080|v1|checkout.shop.svc.cluster.local", 90),
            org.assertj.core.groups.Tuple.tuple(
                "outbound|8080|v2|checkout.shop.svc.cluster.local", 10));
    assertThat(clusters.get(1).getResponseHeadersToAdd(0).getHeader().getKey())
        .isEqualTo("x-version");
    // No VirtualService retries: the mesh's default retries stay.
    assertThat(route.getRoute().getRetryPolicy()).isEqualTo(TrafficDefaults.sidecarRetries());
  }

  @Test
  void matchesBecomeOneRouteEachWithHeaderMethodQueryAndUriConditions() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    SUBSETS
                        + """
                        ---
                        apiVersion: networking.istio.io/v1beta1
                        kind: VirtualService
                        metadata: {name: checkout, namespace: shop}
                        spec:
                          hosts: [checkout.shop.svc.cluster.local]
                          http:
                          - name: canary
                            match:
                            - headers: {x-canary: {exact: "true"}}
                              method: {exact: POST}
                            - uri: {regex: "/v2/.*"}
                              queryParams: {beta: {prefix: "y"}}
                              withoutHeaders: {x-legacy: {exact: "1"}}
                            - uri: {exact: /other-port}
                              port: 9090
                            route: [{destination: {host: checkout, subset: v2}}]
                          - route: [{destination: {host: checkout, subset: v1}}]
                        """)
                .build());

    List<Route> routes = routes(resources);
    assertThat(routes).extracting(Route::getName).containsExactly("canary", "canary", "checkout.1");
    var first = routes.get(0).getMatch();
    assertThat(first.getPrefix()).isEqualTo("/");
    assertThat(first.getHeadersList())
        .extracting(h -> h.getName() + "=" + h.getStringMatch().getExact())
        .containsExactly(":method=POST", "x-canary=true");
    var second = routes.get(1).getMatch();
    assertThat(second.getSafeRegex().getRegex()).isEqualTo("/v2/.*");
    assertThat(second.getQueryParameters(0).getStringMatch().getPrefix()).isEqualTo("y");
    assertThat(second.getHeaders(0).getInvertMatch()).isTrue();
    assertThat(routes.get(0).getRoute().getCluster())
        .isEqualTo("outbound|8080|v2|checkout.shop.svc.cluster.local");
    assertThat(routes.get(2).getRoute().getCluster())
        .isEqualTo("outbound|8080|v1|checkout.shop.svc.cluster.local");
  }

  @Test
  void retriesTimeoutsFaultsRewritesAndHeadersBecomeRouteSettings() throws Exception {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      hosts: [checkout]
                      http:
                      - match: [{uri: {prefix: /api/}}]
                        rewrite: {uri: /, authority: checkout.internal}
                        route: [{destination: {host: checkout}}]
                        retries: {attempts: 4, perTryTimeout: 250ms, retryOn: "gateway-error,503"}
                        timeout: 3s
                        fault:
                          delay: {fixedDelay: 2s, percentage: {value: 12.5}}
                          abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}
                        headers:
                          request:
                            set: {x-env: prod}
                            add: {x-trace: fedmesh}
                            remove: [x-debug]
                      - match: [{uri: {exact: /old}}]
                        redirect: {uri: /new, redirectCode: 308}
                      - route: [{destination: {host: checkout}}]
                        retries: {attempts: 0}
                    """)
                .build());

    List<Route> routes = routes(resources);
    var action = routes.get(0).getRoute();
    assertThat(action.getPrefixRewrite()).isEqualTo("/");
    assertThat(action.getHostRewriteLiteral()).isEqualTo("checkout.internal");
    assertThat(action.getTimeout().getSeconds()).isEqualTo(3);
    assertThat(action.getRetryPolicy().getNumRetries().getValue()).isEqualTo(4);
    assertThat(action.getRetryPolicy().getPerTryTimeout().getNanos()).isEqualTo(250_000_000);
    assertThat(action.getRetryPolicy().getRetryOn())
        .isEqualTo("gateway-error,retriable-status-codes");
    assertThat(action.getRetryPolicy().getRetriableStatusCodesList()).containsExactly(503);
    HTTPFault fault =
        routes
            .get(0)
            .getTypedPerFilterConfigOrThrow(HttpRoutes.FAULT_FILTER)
            .unpack(HTTPFault.class);
    assertThat(fault.getDelay().getFixedDelay().getSeconds()).isEqualTo(2);
    assertThat(fault.getDelay().getPercentage())
        .isEqualTo(
            FractionalPercent.newBuilder()
                .setNumerator(125_000)
                .setDenominator(FractionalPercent.DenominatorType.MILLION)
                .build());
    assertThat(fault.getAbort().getGrpcStatus()).isEqualTo(14);
    assertThat(fault.getAbort().getPercentage().getNumerator()).isEqualTo(500_000);
    assertThat(routes.get(0).getRequestHeadersToAddList())
        .extracting(o -> o.getHeader().getKey(), HeaderValueOption::getAppendAction)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "x-env", HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD),
            org.assertj.core.groups.Tuple.tuple(
                "x-trace", HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD));
    assertThat(routes.get(0).getRequestHeadersToRemoveList()).containsExactly("x-debug");

    RedirectAction redirect = routes.get(1).getRedirect();
    assertThat(redirect.getPathRedirect()).isEqualTo("/new");
    assertThat(redirect.getResponseCode())
        .isEqualTo(RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT);
    assertThat(routes.get(1).getMatch().getPath()).isEqualTo("/old");

    assertThat(routes.get(2).getRoute().hasRetryPolicy())
        .as("attempts: 0 turns retries off")
        .isFalse();

    // The fault filter sits in the outbound chain before the router, so per-route faults apply.
    Listener outbound = resources.listeners().get(SidecarOutbound.LISTENER);
    assertThat(outbound.toString().indexOf("envoy.filters.http.fault"))
        .isPositive()
        .isLessThan(outbound.toString().indexOf("envoy.filters.http.router"));
  }

  @Test
  void routesToAnotherServiceUseItsClusterAndMissingDestinationsAnswer503() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      hosts: [checkout]
                      http:
                      - match: [{uri: {prefix: /pay}}]
                        route: [{destination: {host: payments}}]
                      - route: [{destination: {host: nowhere}}]
                    """)
                .build());

    List<Route> routes = routes(resources);
    assertThat(routes.get(0).getRoute().getCluster())
        .isEqualTo("outbound|8080||payments.shop.svc.cluster.local");
    assertThat(routes.get(1).getDirectResponse().getStatus()).isEqualTo(503);
  }

  @Test
  void destinationRuleTrafficPolicyShapesTheCluster() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      host: checkout
                      trafficPolicy:
                        loadBalancer: {simple: RANDOM}
                        outlierDetection:
                          consecutive5xxErrors: 7
                          interval: 5s
                          baseEjectionTime: 1m
                          maxEjectionPercent: 30
                          minHealthPercent: 40
                        connectionPool:
                          tcp: {maxConnections: 10, connectTimeout: 300ms}
                          http: {http1MaxPendingRequests: 5, http2MaxRequests: 50, maxRetries: 2}
                      subsets:
                      - name: v2
                        labels: {version: v2}
                        trafficPolicy:
                          loadBalancer:
                            consistentHash: {httpHeaderName: x-user, minimumRingSize: 2048}
                          tls: {mode: DISABLE}
                    """)
                .build());

    Cluster base = resources.clusters().get("outbound|8080||checkout.shop.svc.cluster.local");
    assertThat(base.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    assertThat(base.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(7);
    assertThat(base.getOutlierDetection().getInterval().getSeconds()).isEqualTo(5);
    assertThat(base.getOutlierDetection().getBaseEjectionTime().getSeconds()).isEqualTo(60);
    assertThat(base.getOutlierDetection().getMaxEjectionPercent().getValue()).isEqualTo(30);
    assertThat(base.getCommonLbConfig().getHealthyPanicThreshold().getValue()).isEqualTo(40);
    assertThat(base.getConnectTimeout().getNanos()).isEqualTo(300_000_000);
    var thresholds = base.getCircuitBreakers().getThresholds(0);
    assertThat(thresholds.getMaxConnections().getValue()).isEqualTo(10);
    assertThat(thresholds.getMaxPendingRequests().getValue()).isEqualTo(5);
    assertThat(thresholds.getMaxRequests().getValue()).isEqualTo(50);
    assertThat(thresholds.getMaxRetries().getValue()).isEqualTo(2);
    assertThat(thresholds.hasRetryBudget()).isFalse();
    assertThat(base.hasTransportSocket()).isTrue();

    Cluster v2 = resources.clusters().get("outbound|8080|v2|checkout.shop.svc.cluster.local");
    assertThat(v2.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(v2.getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(2048);
    assertThat(v2.hasTransportSocket()).as("tls.mode DISABLE").isFalse();
    // The subset inherits what it does not override.
    assertThat(v2.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(7);
  }

  @Test
  void consistentHashPutsAHashPolicyOnTheRoutesToTheHost() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      host: checkout
                      trafficPolicy:
                        portLevelSettings:
                        - port: {number: 8080}
                          loadBalancer: {consistentHash: {useSourceIp: true}}
                    """)
                .build());

    Route route = routes(resources).get(0);
    assertThat(route.getRoute().getHashPolicy(0).getConnectionProperties().getSourceIp()).isTrue();
    assertThat(
            resources
                .clusters()
                .get("outbound|8080||checkout.shop.svc.cluster.local")
                .getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.RING_HASH);
  }

  @Test
  void localityFailoverFromTheDestinationRuleOrdersRegions() {
    String failover =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: checkout, namespace: shop}
        spec:
          host: checkout
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                failover: [{from: us-east, to: eu-central}]
        """;
    ClusterLoadAssignment without =
        generate(shop().build()).endpoints().get("outbound|8080||checkout.shop.svc.cluster.local");
    ClusterLoadAssignment with =
        generate(shop().policies(failover).build())
            .endpoints()
            .get("outbound|8080||checkout.shop.svc.cluster.local");

    // Without a policy us-west and eu-central share the last priority; with it eu-central is next.
    assertThat(priorities(without))
        .containsEntry("us-east", 0)
        .containsEntry("us-west", 1)
        .containsEntry("eu-central", 1);
    assertThat(priorities(with))
        .containsEntry("us-east", 0)
        .containsEntry("eu-central", 1)
        .containsEntry("us-west", 2);
  }

  @Test
  void meshConfigLocalitySettingAppliesWhereNoDestinationRuleSaysOtherwise() {
    String meshConfig =
        """
        apiVersion: fedmesh.dev/v1alpha1
        kind: MeshConfig
        metadata: {name: default}
        spec:
          localityLbSetting:
            failover: [{from: us-east, to: eu-central}]
          connectTimeout: 2s
        """;
    XdsResources resources = generate(shop().policies(meshConfig).build());

    assertThat(
            priorities(resources.endpoints().get("outbound|8080||checkout.shop.svc.cluster.local")))
        .containsEntry("eu-central", 1)
        .containsEntry("us-west", 2);
    assertThat(
            resources
                .clusters()
                .get("outbound|8080||checkout.shop.svc.cluster.local")
                .getConnectTimeout()
                .getSeconds())
        .isEqualTo(2);
  }

  @Test
  void failoverPriorityRanksByTopologyLabelsInOrder() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: checkout, namespace: shop}
        spec:
          host: checkout
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                failoverPriority: [topology.istio.io/cluster, topology.kubernetes.io/region]
        """;
    Map<String, Integer> priorities =
        priorities(
            generate(shop().policies(dr).build())
                .endpoints()
                .get("outbound|8080||checkout.shop.svc.cluster.local"));

    assertThat(priorities)
        .containsEntry("us-east", 0)
        .containsEntry("us-west", 1)
        .containsEntry("eu-central", 1);
  }

  @Test
  void distributeSharesTrafficByLocalityInOnePriority() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: checkout, namespace: shop}
        spec:
          host: checkout
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                distribute:
                - from: us-east/*
                  to: {"us-east/*": 70, "eu-central/*": 30}
        """;
    ClusterLoadAssignment assignment =
        generate(shop().policies(dr).build())
            .endpoints()
            .get("outbound|8080||checkout.shop.svc.cluster.local");

    assertThat(assignment.getEndpointsList())
        .extracting(
            e -> e.getLocality().getRegion(),
            LocalityLbEndpoints::getPriority,
            e -> e.getLoadBalancingWeight().getValue())
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("us-east", 0, 70_000),
            org.assertj.core.groups.Tuple.tuple("eu-central", 0, 30_000));
  }

  @Test
  void disabledLocalityLoadBalancingPutsEveryRegionInOnePriority() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: checkout, namespace: shop}
        spec:
          host: checkout
          trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: false}}}
        """;
    assertThat(
            priorities(
                    generate(shop().policies(dr).build())
                        .endpoints()
                        .get("outbound|8080||checkout.shop.svc.cluster.local"))
                .values())
        .containsOnly(0);
  }

  @Test
  void gatewaysServeEachSubsetUnderItsOwnSni() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("west", "net-west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
            .shard(
                "west",
                CHECKOUT,
                List.of(HTTP_8080),
                true,
                pod("10.2.0.1", "v1", WEST_A),
                pod("10.2.0.2", "v2", WEST_A))
            .policies(SUBSETS)
            .build();

    XdsResources gateway =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.GATEWAY, "west", "net-west", WEST_A));

    assertThat(
            addresses(
                gateway.endpoints().get("outbound_.8080_.v2_.checkout.shop.svc.cluster.local")))
        .containsExactly("10.2.0.2");
    assertThat(
            addresses(gateway.endpoints().get("outbound_.8080_._.checkout.shop.svc.cluster.local")))
        .containsExactlyInAnyOrder("10.2.0.1", "10.2.0.2");
  }

  @Test
  void proxylessGrpcClientsGetTheSameRoutes() {
    MeshSnapshot snapshot =
        shop()
            .policies(
                SUBSETS
                    + """
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      hosts: [checkout]
                      http:
                      - route:
                        - {destination: {host: checkout, subset: v1}, weight: 50}
                        - {destination: {host: checkout, subset: v2}, weight: 50}
                    """)
            .build();

    XdsResources resources =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "mesh", EAST_A));

    assertThat(ResourceConsistency.problems(resources)).isEmpty();
    Route route = resources.routes().get(HOST_PORT).getVirtualHosts(0).getRoutes(0);
    assertThat(route.getMatch().getPrefix()).isEmpty();
    assertThat(route.getRoute().getWeightedClusters().getClustersCount()).isEqualTo(2);
  }

  @Test
  void sourceLabelsAndNamespaceMatchOnlyInTheConfigOfThoseCallers() {
    MeshSnapshot snapshot =
        shop()
            .policies(
                SUBSETS
                    + """
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      hosts: [checkout]
                      http:
                      - match: [{sourceLabels: {app: frontend}, sourceNamespace: shop}]
                        route: [{destination: {host: checkout, subset: v2}}]
                      - route: [{destination: {host: checkout, subset: v1}}]
                    """)
            .build();
    ProxyContext frontend = SIDECAR.withWorkload("shop", Map.of("app", "frontend"));
    ProxyContext other = SIDECAR.withWorkload("shop", Map.of("app", "loadgen"));

    assertThat(routes(ConfigGenerator.generate(snapshot, frontend)))
        .extracting(r -> r.getRoute().getCluster())
        .containsExactly(
            "outbound|8080|v2|checkout.shop.svc.cluster.local",
            "outbound|8080|v1|checkout.shop.svc.cluster.local");
    assertThat(routes(ConfigGenerator.generate(snapshot, other)))
        .extracting(r -> r.getRoute().getCluster())
        .containsExactly("outbound|8080|v1|checkout.shop.svc.cluster.local");
  }

  @Test
  void registryOnlyFromTheMeshConfigSendsUnknownDestinationsNowhere() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: fedmesh.dev/v1alpha1
                    kind: MeshConfig
                    metadata: {name: default}
                    spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}
                    """)
                .build());

    Listener outbound = resources.listeners().get(SidecarOutbound.LISTENER);
    assertThat(outbound.getDefaultFilterChain().getName()).isEqualTo("BlackHoleCluster");
    assertThat(resources.clusters())
        .containsKey("BlackHoleCluster")
        .doesNotContainKey("PassthroughCluster");
  }

  @Test
  void failoverPriorityOnACustomLabelPrefersEndpointsSharingTheCallersValue() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: checkout, namespace: shop}
        spec:
          host: checkout
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                failoverPriority: [version]
        """;
    ProxyContext caller = SIDECAR.withWorkload("shop", Map.of("app", "frontend", "version", "v2"));
    ClusterLoadAssignment assignment =
        ConfigGenerator.generate(shop().policies(dr).build(), caller)
            .endpoints()
            .get("outbound|8080||checkout.shop.svc.cluster.local");

    Map<String, Integer> byAddress = new java.util.TreeMap<>();
    for (LocalityLbEndpoints group : assignment.getEndpointsList()) {
      group
          .getLbEndpointsList()
          .forEach(
              e ->
                  byAddress.put(
                      e.getEndpoint().getAddress().getSocketAddress().getAddress(),
                      group.getPriority()));
    }
    assertThat(byAddress)
        .containsEntry("10.1.0.2", 0)
        .containsEntry("10.1.0.1", 1)
        .containsEntry("10.2.0.1", 1)
        .containsEntry("10.3.0.1", 1);
  }

  private static List<String> addresses(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream()
        .flatMap(group -> group.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress())
        .toList();
  }

  private static Map<String, Integer> priorities(ClusterLoadAssignment assignment) {
    Map<String, Integer> priorities = new java.util.TreeMap<>();
    for (LocalityLbEndpoints group : assignment.getEndpointsList()) {
      priorities.put(group.getLocality().getRegion(), group.getPriority());
    }
    return priorities;
  }
}
