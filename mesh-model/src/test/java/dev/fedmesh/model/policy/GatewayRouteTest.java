package dev.fedmesh.model.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.fedmesh.model.policy.VirtualService.Destination;
import dev.fedmesh.model.policy.VirtualService.HttpMatch;
import dev.fedmesh.model.policy.VirtualService.HttpRoute;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** HTTPRoute and GRPCRoute documents: every field read, every refusal named, the merge order. */
class GatewayRouteTest {
  private static final String CHECKOUT = "checkout.shop.svc.cluster.local";

  private static List<PolicyError> errors(String yaml) {
    return PolicyDocuments.read("r.yaml", yaml).errors();
  }

  private static GatewayRoute route(String yaml) {
    PolicyDocuments.Result result = PolicyDocuments.read("r.yaml", yaml);
    assertThat(result.errors()).isEmpty();
    return (GatewayRoute) result.policies().get(0);
  }

  private static String httpRoute(String spec) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: checkout, namespace: shop}
        spec:
          parentRefs: [{group: "", kind: Service, name: checkout}]
        """
        + spec.indent(2);
  }

  private static String grpcRoute(String spec) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: {name: checkout, namespace: shop}
        spec:
          parentRefs: [{group: "", kind: Service, name: checkout, port: 7070}]
        """
        + spec.indent(2);
  }

  private static List<String> messages(String yaml) {
    return errors(yaml).stream().map(PolicyError::toString).toList();
  }

  @Test
  void everyHttpRouteFieldIsReadIntoVirtualServiceRules() {
    GatewayRoute route =
        route(
            httpRoute(
                """
                hostnames: [checkout, checkout.shop.svc.cluster.local]
                rules:
                - name: canary
                  matches:
                  - path: {type: Exact, value: /api/pay}
                    headers:
                    - {name: X-Canary, value: "true"}
                    - {name: x-user, type: RegularExpression, value: "u-[0-9]+"}
                    queryParams: [{name: debug, value: "1"}]
                    method: POST
                  backendRefs:
                  - {name: checkout-v2, port: 8080, weight: 3}
                  - {name: checkout, namespace: shop, port: 8080, weight: 1,
                     filters: [{type: ResponseHeaderModifier,
                                responseHeaderModifier: {set: [{name: x-version, value: v1}]}}]}
                  - {name: checkout-v3, group: core, kind: Service, port: 8080, weight: 0}
                  filters:
                  - type: RequestHeaderModifier
                    requestHeaderModifier:
                      set: [{name: X-Env, value: prod}]
                      add: [{name: x-trace, value: "on"}]
                      remove: [x-debug]
                  - type: URLRewrite
                    urlRewrite: {hostname: pay.internal, path: {type: ReplaceFullPath, replaceFullPath: /v2/pay}}
                  timeouts: {request: 10s, backendRequest: 500ms}
                """));

    assertThat(route.kind()).isEqualTo(PolicyKind.HTTP_ROUTE);
    assertThat(route.id()).isEqualTo("HTTPRoute/shop/checkout");
    assertThat(route.parents())
        .containsExactly(new GatewayRoute.Parent(CHECKOUT, OptionalInt.empty()));
    assertThat(route.matches()).hasSize(1);
    GatewayRoute.MatchRoutes match = route.matches().get(0);
    assertThat(match.precedence())
        .isEqualTo(new GatewayRoute.Precedence(GatewayRoute.Precedence.EXACT, 8, true, 2, 1));
    HttpRoute rule = match.routes().get(0);
    assertThat(rule.name()).isEqualTo("checkout.canary");
    HttpMatch m = rule.match().get(0);
    assertThat(m.uri()).hasValue(new StringMatch(StringMatch.Type.EXACT, "/api/pay"));
    assertThat(m.method()).hasValue(new StringMatch(StringMatch.Type.EXACT, "POST"));
    assertThat(m.headers())
        .containsExactly(
            Map.entry("x-canary", new StringMatch(StringMatch.Type.EXACT, "true")),
            Map.entry("x-user", new StringMatch(StringMatch.Type.REGEX, "u-[0-9]+")));
    assertThat(m.queryParams())
        .containsExactly(Map.entry("debug", new StringMatch(StringMatch.Type.EXACT, "1")));
    // Weights stay relative; the backend of weight 0 takes no traffic and is left out.
    assertThat(rule.route())
        .extracting(Destination::host, d -> d.port().getAsInt(), Destination::weight)
        .containsExactly(
            tuple("checkout-v2.shop.svc.cluster.local", 8080, 3), tuple(CHECKOUT, 8080, 1));
    assertThat(rule.route().get(1).headers().response().set()).containsEntry("x-version", "v1");
    assertThat(rule.headers().request().set()).containsEntry("x-env", "prod");
    assertThat(rule.headers().request().add()).containsEntry("x-trace", "on");
    assertThat(rule.headers().request().remove()).containsExactly("x-debug");
    assertThat(rule.rewrite())
        .hasValue(new VirtualService.Rewrite("", "pay.internal", "^.*$", "/v2/pay"));
    assertThat(rule.timeout()).hasValue(Duration.ofSeconds(10));
    assertThat(rule.tryTimeout()).hasValue(Duration.ofMillis(500));
    assertThat(rule.retries()).isEmpty();
  }

  @Test
  void aPathPrefixMatchesWholeSegmentsAndItsRewriteReplacesThem() {
    GatewayRoute route =
        route(
            httpRoute(
                """
                rules:
                - matches: [{path: {type: PathPrefix, value: /api/}}]
                  filters:
                  - type: URLRewrite
                    urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
                  backendRefs: [{name: checkout, port: 8080}]
                - backendRefs: [{name: checkout, port: 8080}]
                """));

    List<HttpRoute> api = route.matches().get(0).routes();
    assertThat(api)
        .extracting(r -> r.match().get(0).uri().orElseThrow(), r -> r.rewrite().orElseThrow().uri())
        .containsExactly(
            tuple(new StringMatch(StringMatch.Type.EXACT, "/api"), "/v2"),
            tuple(new StringMatch(StringMatch.Type.PREFIX, "/api/"), "/v2/"));
    assertThat(route.matches().get(0).precedence().length()).isEqualTo(4);
    // A rule without matches matches every path, as Gateway API's default PathPrefix /.
    GatewayRoute.MatchRoutes all = route.matches().get(1);
    assertThat(all.routes().get(0).match().get(0).uri())
        .hasValue(new StringMatch(StringMatch.Type.PREFIX, "/"));
    assertThat(all.routes().get(0).name()).isEqualTo("checkout.1");
    assertThat(all.precedence().length()).isZero();
  }

  @Test
  void aRedirectTakesTheRulesPlaceOfBackends() {
    GatewayRoute route =
        route(
            httpRoute(
                """
                rules:
                - matches: [{path: {type: Exact, value: /old}}]
                  filters:
                  - type: RequestRedirect
                    requestRedirect: {scheme: https, hostname: shop.example, path: {type: ReplaceFullPath, replaceFullPath: /new}}
                - matches: [{path: {type: RegularExpression, value: "/v[0-9]+/.*"}}]
                  filters:
                  - {type: RequestRedirect, requestRedirect: {port: 8443, statusCode: 301}}
                """));

    HttpRoute https = route.matches().get(0).routes().get(0);
    assertThat(https.route()).isEmpty();
    assertThat(https.redirect())
        .hasValue(
            new VirtualService.Redirect("/new", "shop.example", OptionalInt.of(443), "https", 302));
    HttpRoute port = route.matches().get(1).routes().get(0);
    assertThat(port.redirect())
        .hasValue(new VirtualService.Redirect("", "", OptionalInt.of(8443), "", 301));
    assertThat(route.matches().get(1).precedence().path()).isEqualTo(GatewayRoute.Precedence.REGEX);
  }

  @Test
  void v1beta1IsAcceptedForHttpRoutes() {
    GatewayRoute route =
        route(
            httpRoute("rules: [{backendRefs: [{name: checkout, port: 8080}]}]")
                .replace("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"));

    assertThat(route.matches()).hasSize(1);
  }

  @Test
  void aParentPortLimitsTheRouteToThatPort() {
    GatewayRoute route =
        route(
            httpRoute("rules: [{backendRefs: [{name: checkout, port: 8080}]}]")
                .replace(
                    "parentRefs: [{group: \"\", kind: Service, name: checkout}]",
                    "parentRefs: [{group: core, kind: Service, name: checkout, namespace: shop, port: 8080},"
                        + " {group: \"\", kind: Service, name: payments}]"));

    assertThat(route.portsOf(CHECKOUT)).containsExactly(8080);
    assertThat(route.portsOf("payments.shop.svc.cluster.local")).isEmpty();
    assertThat(route.routes("payments.shop.svc.cluster.local")).isTrue();
  }

  @Test
  void parentsOtherThanServicesOfTheRoutesNamespaceAreRefused() {
    assertThat(
            messages(
                httpRoute("rules: [{backendRefs: [{name: checkout, port: 8080}]}]")
                    .replace(
                        "parentRefs: [{group: \"\", kind: Service, name: checkout}]",
                        """
                        parentRefs:
                          - {name: ingress}
                          - {group: gateway.networking.k8s.io, kind: Gateway, name: ingress}
                          - {kind: Service, name: checkout}
                          - {group: "", kind: Service, name: checkout, namespace: web}
                          - {group: "", kind: Service, name: checkout, sectionName: http}
                          - {group: "", kind: Service, name: Checkout_1}
                        """)))
        .containsExactlyInAnyOrder(
            "r.yaml:1: spec.parentRefs[0].kind: missing, which means a Gateway (ingress gateways not supported; expected: kind: Service, group: \"\")",
            "r.yaml:1: spec.parentRefs[1].kind: 'Gateway' not supported (ingress gateways not supported; expected: Service; fedmesh routes mesh traffic to Services)",
            "r.yaml:1: spec.parentRefs[2].group: missing, which means gateway.networking.k8s.io (expected: \"\" or core, the group of a Service)",
            "r.yaml:1: spec.parentRefs[3].namespace: 'web' not supported (consumer routes, which apply only to callers in the route's namespace, are not generated; expected: shop, the route's namespace)",
            "r.yaml:1: spec.parentRefs[4].sectionName: not supported (name the Service port by number with port)",
            "r.yaml:1: spec.parentRefs[5].name: 'Checkout_1' (expected: a Service name, a DNS label)");
    assertThat(
            messages(
                httpRoute("rules: [{backendRefs: [{name: a, port: 1}]}]")
                    .replace("  parentRefs: [{group: \"\", kind: Service, name: checkout}]\n", "")))
        .containsExactly(
            "r.yaml:1: spec.parentRefs: missing (expected: at least one Service, as kind: Service)");
  }

  @Test
  void hostnamesMustNameTheParentService() {
    assertThat(
            messages(
                httpRoute(
                    """
                    hostnames: ["*.shop.svc.cluster.local", checkout.shop, api.example.com, "*"]
                    rules: [{backendRefs: [{name: checkout, port: 8080}]}]
                    """)))
        .containsExactly(
            "r.yaml:1: spec.hostnames[2]: 'api.example.com' does not name the parent Service checkout.shop.svc.cluster.local (expected: a name of every parent Service, or leave hostnames out; a Service's traffic is routed whatever its Host header)",
            "r.yaml:1: spec.hostnames[3]: '*' (expected: a host name such as checkout or *.shop.svc.cluster.local)");
  }

  @Test
  void fieldsNotEnforcedAreRefusedByName() {
    assertThat(
            messages(
                httpRoute(
                    """
                    rules:
                    - sessionPersistence: {sessionName: s}
                      retry: {attempts: 3}
                      filters:
                      - {type: RequestMirror, requestMirror: {backendRef: {name: shadow, port: 8080}}}
                      - {type: ExtensionRef, extensionRef: {group: x, kind: y, name: z}}
                      - {type: CORS, cors: {allowOrigins: ["*"]}}
                      - {type: Compress}
                      backendRefs:
                      - name: checkout
                        port: 8080
                        filters: [{type: URLRewrite, urlRewrite: {hostname: x}}]
                      - {name: checkout, port: 8080, kind: ServiceImport, group: multicluster.x-k8s.io}
                      - {name: checkout}
                    """)))
        .containsExactlyInAnyOrder(
            "r.yaml:1: spec.rules[0].sessionPersistence: not supported (use a DestinationRule's consistentHash)",
            "r.yaml:1: spec.rules[0].retry: not supported (route retries; the mesh's default retries apply)",
            "r.yaml:1: spec.rules[0].filters[0].type: 'RequestMirror' not supported (traffic mirroring; expected: one of RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestRedirect)",
            "r.yaml:1: spec.rules[0].filters[1].type: 'ExtensionRef' not supported (implementation-specific filters; expected: one of RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestRedirect)",
            "r.yaml:1: spec.rules[0].filters[2].type: 'CORS' not supported (CORS; expected: one of RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestRedirect)",
            "r.yaml:1: spec.rules[0].filters[3].type: 'Compress' (expected: one of RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestRedirect)",
            "r.yaml:1: spec.rules[0].backendRefs[0].filters[0].type: 'URLRewrite' not supported (expected: one of RequestHeaderModifier, ResponseHeaderModifier)",
            "r.yaml:1: spec.rules[0].backendRefs[1].group: 'multicluster.x-k8s.io' (expected: \"\" or core, the group of a Service)",
            "r.yaml:1: spec.rules[0].backendRefs[1].kind: 'ServiceImport' not supported (expected: Service)",
            "r.yaml:1: spec.rules[0].backendRefs[2].port: missing (expected: the Service port, as Gateway API requires)");
  }

  @Test
  void valuesOutsideWhatGatewayApiAllowsAreErrorsWithTheExpectation() {
    assertThat(
            messages(
                httpRoute(
                    """
                    rules:
                    - name: Bad_Name
                      matches:
                      - path: {type: Exact, value: api//x}
                        method: FETCH
                        headers: [{name: "x y", value: a}, {name: x-a, value: a}, {name: X-A, value: b}]
                        queryParams: [{name: q, type: RegularExpression, value: "("}]
                      - path: {type: Suffix, value: /a}
                      filters:
                      - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
                      - {type: URLRewrite, urlRewrite: {}}
                      - type: RequestHeaderModifier
                        requestHeaderModifier: {set: [{name: host, value: x}], add: [{name: x-a}]}
                        urlRewrite: {hostname: x}
                      timeouts: {request: 1s, backendRequest: 2s}
                      backendRefs: [{name: checkout, port: 8080, weight: 1000001}]
                    - timeouts: {request: 1.5s}
                      backendRefs: [{name: checkout, port: 8080}]
                    - matches: [{path: {type: Exact, value: /}}]
                    - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 304, path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}]
                      backendRefs: [{name: checkout, port: 8080}]
                    """)))
        .containsExactlyInAnyOrder(
            "r.yaml:1: spec.rules[0].name: 'Bad_Name' (expected: a DNS subdomain: lower case letters, digits, '-')",
            "r.yaml:1: spec.rules[0].matches[0].path.value: 'api//x' (expected: an absolute path such as /api, without '//', '/./', '/../', '?' or '#')",
            "r.yaml:1: spec.rules[0].matches[0].method: 'FETCH' (expected: one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)",
            "r.yaml:1: spec.rules[0].matches[0].headers[0].name: 'x y' (expected: an HTTP header name)",
            "r.yaml:1: spec.rules[0].matches[0].headers[2].name: 'X-A' is matched twice (expected: each name once)",
            "r.yaml:1: spec.rules[0].matches[0].queryParams[0].value: '(' (expected: a regular expression: Unclosed group)",
            "r.yaml:1: spec.rules[0].matches[1].path.type: 'Suffix' (expected: one of Exact, PathPrefix, RegularExpression)",
            "r.yaml:1: spec.rules[0].filters[1].type: 'URLRewrite' twice (expected: each filter type at most once)",
            "r.yaml:1: spec.rules[0].filters[1].urlRewrite: empty (expected: hostname and/or path)",
            "r.yaml:1: spec.rules[0].filters[2].urlRewrite: set in a filter of type RequestHeaderModifier (expected: only requestHeaderModifier)",
            "r.yaml:1: spec.rules[0].filters[2].requestHeaderModifier.set[0].name: 'host' (expected: a URLRewrite filter's hostname to change it)",
            "r.yaml:1: spec.rules[0].filters[2].requestHeaderModifier.add[0].value: missing (expected: a string)",
            "r.yaml:1: spec.rules[0].timeouts.backendRequest: 2s (expected: at most request, 1s)",
            "r.yaml:1: spec.rules[0].backendRefs[0].weight: 1000001 (expected: 0..1000000)",
            "r.yaml:1: spec.rules[1].timeouts.request: '1.5s' (expected: a Gateway API duration such as 10s, 500ms or 1m30s: whole numbers with units h, m, s or ms)",
            "r.yaml:1: spec.rules[2].backendRefs: missing (expected: at least one Service, or a RequestRedirect filter)",
            "r.yaml:1: spec.rules[3].filters[0].requestRedirect.path.type: 'ReplacePrefixMatch' not supported in a redirect (expected: ReplaceFullPath)",
            "r.yaml:1: spec.rules[3].filters[0].requestRedirect.statusCode: 304 (expected: 301, 302, 303, 307 or 308)",
            "r.yaml:1: spec.rules[3]: sets backendRefs and a RequestRedirect filter (expected: one of them)");
  }

  @Test
  void aPrefixRewriteNeedsPrefixMatchesAndARedirectStandsAlone() {
    assertThat(
            messages(
                httpRoute(
                    """
                    rules:
                    - matches: [{path: {type: Exact, value: /a}}]
                      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}]
                      backendRefs: [{name: checkout, port: 8080}]
                    - filters:
                      - {type: RequestRedirect, requestRedirect: {hostname: x.example}}
                      - {type: URLRewrite, urlRewrite: {hostname: y.example}}
                      - {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [x-a]}}
                    """)))
        .containsExactlyInAnyOrder(
            "r.yaml:1: spec.rules[0].filters: URLRewrite path ReplacePrefixMatch with matches[0] not a PathPrefix (expected: PathPrefix matches only, as Gateway API requires)",
            "r.yaml:1: spec.rules[1].filters: sets URLRewrite and RequestRedirect (expected: one of them, as Gateway API requires)",
            "r.yaml:1: spec.rules[1].filters: sets header modifiers with RequestRedirect, which answers without forwarding (expected: a RequestRedirect alone)");
  }

  @Test
  void grpcMethodsBecomePathsAndRefusalsAreNamed() {
    GatewayRoute route =
        route(
            grpcRoute(
                """
                rules:
                - matches:
                  - method: {service: shop.v1.Checkout, method: Pay}
                    headers: [{name: x-tenant, value: a}]
                  - method: {service: shop.v1.Checkout}
                  - method: {method: Refund}
                  - method: {type: RegularExpression, service: "shop\\\\.v[0-9]+\\\\.Checkout"}
                  filters:
                  - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-grpc, value: "1"}]}}
                  backendRefs: [{name: checkout-v2, port: 7070}]
                """));

    assertThat(route.kind()).isEqualTo(PolicyKind.GRPC_ROUTE);
    assertThat(route.matches()).allSatisfy(m -> assertThat(m.routes()).hasSize(1));
    assertThat(route.portsOf(CHECKOUT)).containsExactly(7070);
    assertThat(route.matches())
        .extracting(
            m -> m.routes().get(0).match().get(0).uri().orElseThrow(),
            m -> m.precedence().path(),
            m -> m.precedence().length())
        .containsExactly(
            tuple(new StringMatch(StringMatch.Type.EXACT, "/shop.v1.Checkout/Pay"), 3, 19),
            tuple(new StringMatch(StringMatch.Type.PREFIX, "/shop.v1.Checkout/"), 2, 16),
            tuple(new StringMatch(StringMatch.Type.REGEX, "/[^/]+/Refund"), 2, 6),
            tuple(
                new StringMatch(StringMatch.Type.REGEX, "/(?:shop\\.v[0-9]+\\.Checkout)/(?:[^/]+)"),
                2,
                23));
    assertThat(route.matches().get(0).routes().get(0).match().get(0).headers())
        .containsKey("x-tenant");
    assertThat(route.matches().get(0).routes().get(0).headers().request().set())
        .containsEntry("x-grpc", "1");

    assertThat(
            messages(
                grpcRoute(
                    """
                    rules:
                    - matches:
                      - method: {}
                      - method: {service: "shop/v1", method: "Pay!"}
                      - path: {value: /x}
                      filters:
                      - {type: URLRewrite, urlRewrite: {hostname: x}}
                      - {type: RequestMirror, requestMirror: {backendRef: {name: x, port: 1}}}
                      timeouts: {request: 1s}
                      backendRefs: [{name: checkout, port: 7070}]
                    """)))
        .containsExactlyInAnyOrder(
            "r.yaml:1: spec.rules[0].matches[0].method: empty (expected: service and/or method)",
            "r.yaml:1: spec.rules[0].matches[1].method.service: 'shop/v1' (expected: a gRPC service such as shop.v1.Checkout)",
            "r.yaml:1: spec.rules[0].matches[1].method.method: 'Pay!' (expected: a gRPC method such as Pay)",
            "r.yaml:1: spec.rules[0].matches[2].path: unknown field",
            "r.yaml:1: spec.rules[0].filters[0].type: 'URLRewrite' not supported (expected: one of RequestHeaderModifier, ResponseHeaderModifier)",
            "r.yaml:1: spec.rules[0].filters[1].type: 'RequestMirror' not supported (traffic mirroring; expected: one of RequestHeaderModifier, ResponseHeaderModifier)",
            "r.yaml:1: spec.rules[0].timeouts: unknown field");
  }

  @Test
  void routesOfOneServiceMergeInGatewayApiPrecedence() {
    String a =
        httpRoute(
                """
                rules:
                - backendRefs: [{name: catch-all, port: 8080}]
                - matches: [{path: {type: PathPrefix, value: /api}}]
                  backendRefs: [{name: api, port: 8080}]
                - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
                  backendRefs: [{name: api-get, port: 8080}]
                - matches: [{path: {type: RegularExpression, value: "/a.*"}}]
                  backendRefs: [{name: regex, port: 8080}]
                """)
            .replace("name: checkout, namespace: shop}", "name: b-route, namespace: shop}");
    String b =
        httpRoute(
                """
                rules:
                - matches:
                  - path: {type: PathPrefix, value: /api/v1}
                  - path: {type: PathPrefix, value: /api}
                    headers: [{name: x-a, value: "1"}]
                  backendRefs: [{name: v1, port: 8080}]
                - matches: [{path: {type: Exact, value: /api}}]
                  backendRefs: [{name: exact, port: 8080}]
                - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
                  backendRefs: [{name: older-name, port: 8080}]
                """)
            .replace("name: checkout, namespace: shop}", "name: a-route, namespace: shop}");
    PolicySet set = PolicySet.of(PolicyDocuments.read("r", a + "---\n" + b).policies());

    VirtualService merged = set.virtualServiceFor(CHECKOUT).orElseThrow();

    assertThat(merged.hosts()).containsExactly(CHECKOUT);
    assertThat(merged.http())
        .extracting(r -> r.route().get(0).host().split("\\.")[0], r -> r.name())
        .containsExactly(
            tuple("exact", "a-route.1"),
            tuple("v1", "a-route.0"),
            tuple("v1", "a-route.0"),
            // Equal prefixes: a method match first, then more headers; ties by name.
            tuple("older-name", "a-route.2"),
            tuple("older-name", "a-route.2"),
            tuple("api-get", "b-route.2"),
            tuple("api-get", "b-route.2"),
            tuple("v1", "a-route.0"),
            tuple("v1", "a-route.0"),
            tuple("api", "b-route.1"),
            tuple("api", "b-route.1"),
            tuple("catch-all", "b-route.0"),
            tuple("regex", "b-route.3"));
    assertThat(set.virtualServiceFor("payments.shop.svc.cluster.local")).isEmpty();
  }

  @Test
  void aParentPortBecomesThePortOfEveryMatch() {
    PolicySet set =
        PolicySet.of(
            List.of(
                route(
                    grpcRoute(
                        "rules: [{backendRefs: [{name: checkout-v2, port: 7070, weight: 0}]}]"))));

    HttpRoute rule = set.virtualServiceFor(CHECKOUT).orElseThrow().http().get(0);
    assertThat(rule.match()).extracting(HttpMatch::port).containsExactly(OptionalInt.of(7070));
    // Every backend weighs 0: the rule routes nowhere.
    assertThat(rule.route()).isEmpty();
  }
}
