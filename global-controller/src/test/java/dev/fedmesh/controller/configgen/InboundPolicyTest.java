package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.XdsNames;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PeerAuthentication and AuthorizationPolicy against the virtualInbound listener they become. */
class InboundPolicyTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final ProxyContext CHECKOUT_V1 =
      new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A)
          .withWorkload("shop", Map.of("app", "checkout", "version", "v1"));

  private static Listener inbound(String policies, ProxyContext proxy) {
    MeshSnapshot snapshot = mesh().cluster("east", "mesh", EAST_A).policies(policies).build();
    XdsResources resources = ConfigGenerator.generate(snapshot, proxy);
    assertThat(resources.listeners()).containsKey(XdsNames.VIRTUAL_INBOUND);
    return resources.listeners().get(XdsNames.VIRTUAL_INBOUND);
  }

  private static List<String> chains(Listener listener) {
    return listener.getFilterChainsList().stream()
        .map(
            c ->
                c.getFilterChainMatch().getTransportProtocol()
                    + ":"
                    + c.getFilterChainMatch().getDestinationPort().getValue())
        .toList();
  }

  @Test
  void withoutPoliciesTheSidecarKeepsItsDefaults() {
    MeshSnapshot snapshot = mesh().cluster("east", "mesh", EAST_A).build();
    assertThat(ConfigGenerator.generate(snapshot, CHECKOUT_V1).listeners())
        .doesNotContainKey(XdsNames.VIRTUAL_INBOUND);
  }

  @Test
  void peerAuthenticationScopesResolveWorkloadThenNamespaceThenMesh() {
    String meshStrict =
        """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: istio-system}
        spec: {mtls: {mode: STRICT}}
        """;
    assertThat(chains(inbound(meshStrict, CHECKOUT_V1))).containsExactly("tls:0");

    String namespacePermissive =
        meshStrict
            + """
            ---
            apiVersion: security.istio.io/v1beta1
            kind: PeerAuthentication
            metadata: {name: default, namespace: shop}
            spec: {mtls: {mode: PERMISSIVE}}
            """;
    assertThat(chains(inbound(namespacePermissive, CHECKOUT_V1)))
        .containsExactly("tls:0", "raw_buffer:0");

    String workload =
        namespacePermissive
            + """
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: checkout, namespace: shop}
            spec:
              selector: {matchLabels: {app: checkout}}
              mtls: {mode: DISABLE}
              portLevelMtls: {"9090": {mode: STRICT}}
            """;
    Listener listener = inbound(workload, CHECKOUT_V1);
    assertThat(chains(listener)).containsExactly("tls:9090", "raw_buffer:0");
    assertThat(listener.getFilterChains(0).hasTransportSocket()).isTrue();
    // Another workload of the namespace is not selected: the namespace's mode.
    assertThat(
            chains(
                inbound(
                    workload,
                    new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A)
                        .withWorkload("shop", Map.of("app", "payments")))))
        .containsExactly("tls:0", "raw_buffer:0");
  }

  @Test
  void allowRulesBecomeHttpRbacWithPrincipalsNamespacesPathsAndConditions() throws Exception {
    String policy =
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: checkout-callers, namespace: shop}
        spec:
          selector: {matchLabels: {app: checkout}}
          action: ALLOW
          rules:
          - from:
            - source: {principals: ["fedmesh.local/ns/shop/sa/frontend"]}
            - source: {namespaces: ["ops"]}
            to:
            - operation: {methods: [GET], paths: ["/api/*"], notPaths: ["/api/admin"]}
            when:
            - {key: "request.headers[x-tenant]", values: [acme]}
        """;
    Listener listener = inbound(policy, CHECKOUT_V1);
    FilterChain chain = listener.getFilterChains(0);
    HttpConnectionManager manager = manager(chain);
    assertThat(manager.getHttpFilters(0).getName()).isEqualTo(InboundPolicy.HTTP_RBAC);
    RBAC rules =
        manager
            .getHttpFilters(0)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class)
            .getRules();
    assertThat(rules.getAction()).isEqualTo(RBAC.Action.ALLOW);
    Policy rule = rules.getPoliciesOrThrow("ns[shop]-policy[checkout-callers]-rule[0]");
    String text = rule.toString();
    assertThat(text)
        .contains("exact: \"spiffe://fedmesh.local/ns/shop/sa/frontend\"")
        .contains("regex: \"spiffe://[^/]+/ns/\\\\Qops\\\\E/sa/[^/]+\"")
        .contains("prefix: \"/api/\"")
        .contains("exact: \"/api/admin\"")
        .contains("name: \":method\"")
        .contains("name: \"x-tenant\"");
    assertThat(manager.getHttpFilters(manager.getHttpFiltersCount() - 1).getName())
        .isEqualTo(ConfigGenerator.ROUTER_FILTER);

    // TCP: the rule names paths, methods and headers, which no connection has: it matches
    // nothing, and the ALLOW filter (with no policies) refuses every connection.
    RBAC network = networkRules(chain);
    assertThat(network.getAction()).isEqualTo(RBAC.Action.ALLOW);
    assertThat(network.getPoliciesMap()).isEmpty();
  }

  @Test
  void denyRulesKeepTheirPortsForTcpAndAllowWithoutRulesAllowsNothing() throws Exception {
    String policies =
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: no-admin, namespace: shop}
        spec:
          action: DENY
          rules: [{to: [{operation: {paths: ["/admin"], ports: ["9090"]}}]}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny-all, namespace: istio-system}
        spec: {}
        """;
    FilterChain chain = inbound(policies, CHECKOUT_V1).getFilterChains(0);

    List<String> names = chain.getFiltersList().stream().map(Filter::getName).toList();
    assertThat(names)
        .containsExactly(
            InboundPolicy.NETWORK_RBAC,
            InboundPolicy.NETWORK_RBAC,
            "envoy.filters.network.http_connection_manager");
    RBAC deny =
        chain
            .getFilters(0)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class)
            .getRules();
    assertThat(deny.getAction()).isEqualTo(RBAC.Action.DENY);
    Permission permission =
        deny.getPoliciesOrThrow("ns[shop]-policy[no-admin]-rule[0]").getPermissions(0);
    assertThat(permission.getDestinationPort()).as("the path is dropped for TCP").isEqualTo(9090);
    RBAC allow =
        chain
            .getFilters(1)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class)
            .getRules();
    assertThat(allow.getAction()).isEqualTo(RBAC.Action.ALLOW);
    assertThat(allow.getPoliciesMap()).as("an ALLOW policy with no rules allows nothing").isEmpty();
    Principal anyone =
        deny.getPoliciesOrThrow("ns[shop]-policy[no-admin]-rule[0]").getPrincipals(0);
    assertThat(anyone.getAny()).isTrue();
  }

  private static HttpConnectionManager manager(FilterChain chain) throws Exception {
    for (Filter filter : chain.getFiltersList()) {
      if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
        return filter.getTypedConfig().unpack(HttpConnectionManager.class);
      }
    }
    throw new AssertionError("no connection manager in " + chain.getName());
  }

  private static RBAC networkRules(FilterChain chain) throws Exception {
    return chain
        .getFilters(0)
        .getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class)
        .getRules();
  }
}
