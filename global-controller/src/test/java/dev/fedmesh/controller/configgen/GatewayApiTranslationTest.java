package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * HTTPRoute, GRPCRoute, TrafficSplit and ServiceExport policies against the Envoy protos they
 * become.
 */
class GatewayApiTranslationTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final ServicePort HTTP_8080 = new ServicePort("http", 8080, Protocol.HTTP);
  private static final ServicePort GRPC_7070 = new ServicePort("grpc", 7070, Protocol.GRPC);
  private static final ServiceKey CHECKOUT = ServiceKey.of("shop", "checkout");
  private static final ServiceKey CHECKOUT_V1 = ServiceKey.of("shop", "checkout-v1");
  private static final ServiceKey CHECKOUT_V2 = ServiceKey.of("shop", "checkout-v2");
  private static final ServiceKey ORDERS = ServiceKey.of("shop", "orders");
  private static final ProxyContext SIDECAR =
      new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A);

  private static Endpoint pod(String address, String app) {
    return new Endpoint(
        address,
        app.equals("orders") ? Map.of("http", 8080, "grpc", 7070) : Map.of("http", 8080),
        EAST_A,
        EndpointHealth.HEALTHY,
        Map.of("app", app),
        "shop",
        1,
        app);
  }

  private static MeshFixtures shop() {
    return mesh()
        .cluster("east", "mesh", EAST_A)
        .shard("east", CHECKOUT, List.of(HTTP_8080), true, pod("10.1.0.1", "checkout"))
        .shard("east", CHECKOUT_V1, List.of(HTTP_8080), true, pod("10.1.0.2", "checkout-v1"))
        .shard("east", CHECKOUT_V2, List.of(HTTP_8080), true, pod("10.1.0.3", "checkout-v2"))
        .shard("east", ORDERS, List.of(GRPC_7070, HTTP_8080), true, pod("10.1.0.4", "orders"));
  }

  private static XdsResources generate(MeshSnapshot mesh) {
    XdsResources resources = ConfigGenerator.generate(mesh, SIDECAR);
    assertThat(ResourceConsistency.problems(resources)).isEmpty();
    return resources;
  }

  /** The routes of one virtual host after the CONNECT route every host keeps. */
  private static List<Route> routes(XdsResources resources, String hostPort) {
    VirtualHost host =
        resources.routes().get(SidecarOutbound.ROUTES).getVirtualHostsList().stream()
            .filter(h -> h.getName().equals(hostPort))
            .findFirst()
            .orElseThrow();
    assertThat(host.getRoutes(0).getName()).isEqualTo("connect");
    return host.getRoutesList().subList(1, host.getRoutesCount());
  }

  private static String cluster(ServiceKey service, int port) {
    return "outbound|" + port + "||" + service.fqdn();
  }

  @Test
  void anHttpRouteBecomesSegmentPrefixRoutesWithRelativeWeightsRewritesAndTimeouts() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: gateway.networking.k8s.io/v1
                    kind: HTTPRoute
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      parentRefs: [{group: "", kind: Service, name: checkout, port: 8080}]
                      rules:
                      - backendRefs: [{name: checkout, port: 8080}]
                      - name: api
                        matches:
                        - path: {type: PathPrefix, value: /api}
                          headers: [{name: X-Canary, value: "true"}]
                        filters:
                        - type: URLRewrite
                          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
                        - type: RequestHeaderModifier
                          requestHeaderModifier: {set: [{name: x-env, value: prod}], remove: [x-debug]}
                        backendRefs:
                        - {name: checkout-v2, port: 8080, weight: 3}
                        - {name: checkout-v1, port: 8080}
                        timeouts: {request: 10s, backendRequest: 500ms}
                    """)
                .build());

    List<Route> routes = routes(resources, CHECKOUT.fqdn() + ":8080");
    // The longer prefix first: /api as an exact path, then /api/ as a prefix, then the rest.
    assertThat(routes)
        .extracting(Route::getName, r -> r.getMatch().getPath(), r -> r.getMatch().getPrefix())
        .containsExactly(
            tuple("checkout.api", "/api", ""),
            tuple("checkout.api", "", "/api/"),
            tuple("checkout.0", "", "/"));
    Route exact = routes.get(0);
    assertThat(exact.getMatch().getHeaders(0).getName()).isEqualTo("x-canary");
    assertThat(exact.getRoute().getRegexRewrite().getSubstitution()).isEqualTo("/v2");
    Route prefix = routes.get(1);
    assertThat(prefix.getRoute().getPrefixRewrite()).isEqualTo("/v2/");
    assertThat(prefix.getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName(), c -> c.getWeight().getValue())
        .containsExactly(
            tuple(cluster(CHECKOUT_V2, 8080), 3), tuple(cluster(CHECKOUT_V1, 8080), 1));
    assertThat(prefix.getRoute().getTimeout()).isEqualTo(Durations.fromSeconds(10));
    // backendRequest is a per-try timeout on the mesh's own retries.
    assertThat(prefix.getRoute().getRetryPolicy())
        .isEqualTo(
            TrafficDefaults.sidecarRetries().toBuilder()
                .setPerTryTimeout(Durations.fromMillis(500))
                .build());
    assertThat(prefix.getRequestHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-env");
    assertThat(prefix.getRequestHeadersToRemoveList()).containsExactly("x-debug");
    assertThat(routes.get(2).getRoute().getCluster()).isEqualTo(cluster(CHECKOUT, 8080));
    assertThat(routes.get(2).getRoute().getRetryPolicy())
        .isEqualTo(TrafficDefaults.sidecarRetries());
  }

  @Test
  void redirectsAnswerFromTheCallersProxyAndBackendsOfWeightZeroTakeNothing() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: gateway.networking.k8s.io/v1beta1
                    kind: HTTPRoute
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      parentRefs: [{group: "", kind: Service, name: checkout}]
                      rules:
                      - matches: [{path: {type: Exact, value: /old}}]
                        filters:
                        - type: RequestRedirect
                          requestRedirect: {scheme: https, path: {type: ReplaceFullPath, replaceFullPath: /new}}
                      - matches: [{path: {type: PathPrefix, value: /drained}}]
                        backendRefs: [{name: checkout-v1, port: 8080, weight: 0}]
                      - backendRefs:
                        - {name: checkout-v1, port: 8080, weight: 0}
                        - {name: checkout-v2, port: 8080, weight: 5}
                    """)
                .build());

    List<Route> routes = routes(resources, CHECKOUT.fqdn() + ":8080");
    RedirectAction redirect = routes.get(0).getRedirect();
    assertThat(redirect.getSchemeRedirect()).isEqualTo("https");
    assertThat(redirect.getPortRedirect()).isEqualTo(443);
    assertThat(redirect.getPathRedirect()).isEqualTo("/new");
    assertThat(redirect.getResponseCode()).isEqualTo(RedirectAction.RedirectResponseCode.FOUND);
    assertThat(routes.get(1).getDirectResponse().getStatus()).isEqualTo(500);
    assertThat(routes.get(2).getDirectResponse().getStatus()).isEqualTo(500);
    assertThat(routes.get(3).getRoute().getCluster()).isEqualTo(cluster(CHECKOUT_V2, 8080));
  }

  @Test
  void aGrpcRouteRoutesMethodsOnItsParentPortOnlyForSidecarsAndProxylessClients() {
    MeshSnapshot snapshot =
        shop()
            .policies(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: orders, namespace: shop}
                spec:
                  parentRefs: [{group: "", kind: Service, name: orders, port: 7070}]
                  rules:
                  - matches: [{method: {service: shop.v1.Orders, method: Cancel}}]
                    backendRefs: [{name: checkout-v2, port: 8080}]
                  - matches: [{method: {service: shop.v1.Orders}}]
                    filters:
                    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-served-by, value: orders}]}}
                    backendRefs: [{name: orders, port: 7070}]
                """)
            .build();
    XdsResources resources = generate(snapshot);

    List<Route> grpc = routes(resources, ORDERS.fqdn() + ":7070");
    assertThat(grpc)
        .extracting(r -> r.getMatch().getPath(), r -> r.getMatch().getPrefix())
        .containsExactly(tuple("/shop.v1.Orders/Cancel", ""), tuple("", "/shop.v1.Orders/"));
    assertThat(grpc.get(0).getRoute().getCluster()).isEqualTo(cluster(CHECKOUT_V2, 8080));
    assertThat(grpc.get(1).getResponseHeadersToAdd(0).getHeader().getValue()).isEqualTo("orders");
    // Gateway API's match order leaves a service prefix after the exact method, whatever the
    // rules' order; and the HTTP port of the same Service keeps its default route.
    assertThat(routes(resources, ORDERS.fqdn() + ":8080"))
        .extracting(Route::getName)
        .containsExactly("default");

    XdsResources proxyless =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "mesh", EAST_A));
    assertThat(ResourceConsistency.problems(proxyless)).isEmpty();
    assertThat(
            proxyless
                .routes()
                .get(ORDERS.fqdn() + ":7070")
                .getVirtualHosts(0)
                .getRoutes(0)
                .getMatch()
                .getPath())
        .isEqualTo("/shop.v1.Orders/Cancel");
  }

  @Test
  void aTrafficSplitWeighsItsBackendServicesClusters() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: split.smi-spec.io/v1alpha2
                    kind: TrafficSplit
                    metadata: {name: checkout-rollout, namespace: shop}
                    spec:
                      service: checkout
                      backends:
                      - {service: checkout-v1, weight: 900m}
                      - {service: checkout-v2, weight: 100m}
                    """)
                .build());

    Route route = routes(resources, CHECKOUT.fqdn() + ":8080").get(0);
    assertThat(route.getMatch().getPrefix()).isEqualTo("/");
    assertThat(route.getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName(), c -> c.getWeight().getValue())
        .containsExactly(
            tuple(cluster(CHECKOUT_V1, 8080), 9), tuple(cluster(CHECKOUT_V2, 8080), 1));
  }

  @Test
  void aVirtualServiceForTheSameHostTakesPrecedence() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    """
                    apiVersion: gateway.networking.k8s.io/v1
                    kind: HTTPRoute
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      parentRefs: [{group: "", kind: Service, name: checkout}]
                      rules: [{backendRefs: [{name: checkout-v2, port: 8080}]}]
                    ---
                    apiVersion: split.smi-spec.io/v1alpha4
                    kind: TrafficSplit
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      service: checkout
                      backends: [{service: checkout-v2, weight: 1}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: checkout, namespace: shop}
                    spec:
                      hosts: [checkout]
                      http: [{route: [{destination: {host: checkout-v1}}]}]
                    """)
                .build());

    assertThat(routes(resources, CHECKOUT.fqdn() + ":8080"))
        .extracting(r -> r.getRoute().getCluster())
        .containsExactly(cluster(CHECKOUT_V1, 8080));
  }

  @Test
  void aServiceExportPolicyExportsEveryClustersShardThroughItsGateways() {
    String export =
        """
        apiVersion: multicluster.x-k8s.io/v1alpha1
        kind: ServiceExport
        metadata: {name: checkout, namespace: shop}
        """;
    MeshFixtures withoutExport =
        mesh()
            .cluster("east", "net-east", EAST_A)
            .cluster("west", "net-west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
            .shard("east", CHECKOUT, List.of(HTTP_8080), false, pod("10.1.0.1", "checkout"))
            .shard("west", CHECKOUT, List.of(HTTP_8080), false, pod("10.2.0.1", "checkout"));
    ProxyContext caller = new ProxyContext(ProxyRole.SIDECAR, "east", "net-east", EAST_A);
    ProxyContext westGateway = new ProxyContext(ProxyRole.GATEWAY, "west", "net-west", WEST_A);

    MeshSnapshot unexported = withoutExport.build();
    assertThat(addresses(ConfigGenerator.generate(unexported, caller))).containsExactly("10.1.0.1");
    assertThat(chains(ConfigGenerator.generate(unexported, westGateway))).isEmpty();

    MeshSnapshot exported = withoutExport.policies(export).build();
    assertThat(addresses(ConfigGenerator.generate(exported, caller)))
        .containsExactlyInAnyOrder("10.1.0.1", "127.2.0.1");
    assertThat(chains(ConfigGenerator.generate(exported, westGateway)))
        .extracting(FilterChain::getName)
        .containsExactly("outbound_.8080_._.checkout.shop.svc.cluster.local");
  }

  private static List<String> addresses(XdsResources resources) {
    ClusterLoadAssignment assignment = resources.endpoints().get(cluster(CHECKOUT, 8080));
    return assignment.getEndpointsList().stream()
        .flatMap(group -> group.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress())
        .toList();
  }

  private static List<FilterChain> chains(XdsResources gateway) {
    return gateway.listeners().get(GatewayConfig.LISTENER).getFilterChainsList();
  }
}
