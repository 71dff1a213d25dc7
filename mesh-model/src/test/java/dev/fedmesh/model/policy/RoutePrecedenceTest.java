package dev.fedmesh.model.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One kind of document routes a host: a VirtualService over Gateway API routes over a TrafficSplit,
 * the others reported as warnings naming the winner.
 */
class RoutePrecedenceTest {
  private static final String HOST = "checkout.shop.svc.cluster.local";

  private static final String VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: checkout-vs, namespace: shop}
      spec:
        hosts: [checkout]
        http: [{route: [{destination: {host: checkout-v1}}]}]
      """;

  private static final String HTTP_ROUTE =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: checkout-route, namespace: shop}
      spec:
        parentRefs: [{group: "", kind: Service, name: checkout}]
        rules: [{backendRefs: [{name: checkout-v2, port: 8080}]}]
      """;

  private static final String SPLIT =
      """
      apiVersion: split.smi-spec.io/v1alpha4
      kind: TrafficSplit
      metadata: {name: NAME, namespace: shop}
      spec:
        service: checkout
        backends: [{service: checkout-v3, weight: 1}]
      """;

  private static PolicySet set(String... documents) {
    PolicyDocuments.Result result = PolicyDocuments.read("p", String.join("---\n", documents));
    assertThat(result.errors()).isEmpty();
    return PolicySet.of(result.policies());
  }

  private static String firstBackend(PolicySet set) {
    return set.virtualServiceFor(HOST).orElseThrow().http().get(0).route().get(0).host();
  }

  @Test
  void aVirtualServiceWinsAndTheShadowedRoutesAreWarnedOf() {
    PolicySet set = set(VS, HTTP_ROUTE, SPLIT.replace("NAME", "split"));

    assertThat(firstBackend(set)).startsWith("checkout-v1.");
    List<PolicySet.Conflict> conflicts = set.check(false);
    assertThat(conflicts)
        .extracting(c -> c.policy().id(), PolicySet.Conflict::path, PolicySet.Conflict::warning)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "HTTPRoute/shop/checkout-route", "spec.parentRefs[0]", true),
            org.assertj.core.groups.Tuple.tuple("TrafficSplit/shop/split", "spec.service", true));
    assertThat(conflicts.get(0).message())
        .isEqualTo(
            "'"
                + HOST
                + "' is routed by VirtualService/shop/checkout-vs, which takes precedence: this"
                + " HTTPRoute has no effect on it (expected: one kind of route per host; delete"
                + " one)");
  }

  @Test
  void anHttpRouteWinsOverATrafficSplitWhichWinsAlone() {
    assertThat(firstBackend(set(HTTP_ROUTE, SPLIT.replace("NAME", "split"))))
        .startsWith("checkout-v2.");
    assertThat(set(HTTP_ROUTE, SPLIT.replace("NAME", "split")).check(false))
        .extracting(PolicySet.Conflict::message)
        .containsExactly(
            "'"
                + HOST
                + "' is routed by HTTPRoute/shop/checkout-route, which takes precedence: this"
                + " TrafficSplit has no effect on it (expected: one kind of route per host; delete"
                + " one)");
    assertThat(firstBackend(set(SPLIT.replace("NAME", "split")))).startsWith("checkout-v3.");
  }

  @Test
  void applyingTheWinnerWarnsOnItAndTwoSplitsOfOneServiceConflict() {
    PolicySet set = set(VS, HTTP_ROUTE);

    assertThat(set.check(false, id -> id.startsWith("VirtualService/")))
        .extracting(PolicySet.Conflict::path, PolicySet.Conflict::message)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "spec.hosts[0]",
                "takes precedence over HTTPRoute/shop/checkout-route for '"
                    + HOST
                    + "', which then has no effect (expected: one kind of route per host; delete"
                    + " one)"));

    PolicySet splits = set(SPLIT.replace("NAME", "a"), SPLIT.replace("NAME", "b"));
    assertThat(splits.check(false))
        .extracting(c -> c.policy().id(), PolicySet.Conflict::message, PolicySet.Conflict::warning)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "TrafficSplit/shop/b",
                "'"
                    + HOST
                    + "' is already split by TrafficSplit/shop/a (expected: one TrafficSplit per"
                    + " root Service; merge them)",
                false));
  }
}
