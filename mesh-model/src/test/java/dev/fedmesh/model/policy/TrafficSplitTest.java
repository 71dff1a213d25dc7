package dev.fedmesh.model.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.fedmesh.model.ServiceKey;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SMI TrafficSplit and MCS ServiceExport documents. */
class TrafficSplitTest {
  private static String split(String version, String spec) {
    return "apiVersion: split.smi-spec.io/"
        + version
        + "\nkind: TrafficSplit\nmetadata: {name: checkout-rollout, namespace: shop}\nspec:\n"
        + spec.indent(2);
  }

  private static List<String> messages(String yaml) {
    return PolicyDocuments.read("ts.yaml", yaml).errors().stream()
        .map(PolicyError::toString)
        .toList();
  }

  private static TrafficSplit read(String yaml) {
    PolicyDocuments.Result result = PolicyDocuments.read("ts.yaml", yaml);
    assertThat(result.errors()).isEmpty();
    return (TrafficSplit) result.policies().get(0);
  }

  @Test
  void backendsBecomeRelativeWeightsOfTheRootServicesRoute() {
    for (String version : List.of("v1alpha2", "v1alpha3", "v1alpha4")) {
      TrafficSplit split =
          read(
              split(
                  version,
                  """
                  service: checkout
                  backends:
                  - {service: checkout-v1, weight: 900}
                  - {service: checkout-v2, weight: 100}
                  - {service: checkout-v3, weight: 0}
                  """));

      assertThat(split.id()).isEqualTo("TrafficSplit/shop/checkout-rollout");
      assertThat(split.service()).isEqualTo("checkout.shop.svc.cluster.local");
      // Reduced by their common divisor; a backend of weight 0 takes nothing and is left out.
      assertThat(split.backends())
          .extracting(TrafficSplit.Backend::host, TrafficSplit.Backend::weight)
          .containsExactly(
              tuple("checkout-v1.shop.svc.cluster.local", 9),
              tuple("checkout-v2.shop.svc.cluster.local", 1));
      VirtualService.HttpRoute route = split.route();
      assertThat(route.match()).isEmpty();
      assertThat(route.route())
          .extracting(VirtualService.Destination::weight)
          .containsExactly(9, 1);
    }
  }

  @Test
  void v1alpha2WeightsMayBeKubernetesQuantities() {
    TrafficSplit split =
        read(
            split(
                "v1alpha2",
                """
                service: checkout
                backends:
                - {service: a, weight: 900m}
                - {service: b, weight: "1"}
                - {service: c, weight: 1.5}
                - {service: d, weight: 2}
                - {service: e, weight: 1k}
                """));

    assertThat(split.backends())
        .extracting(TrafficSplit.Backend::weight)
        .containsExactly(9, 10, 15, 20, 10_000);
  }

  @Test
  void invalidSplitsNameTheFieldAndTheExpectation() {
    assertThat(
            messages(
                split(
                    "v1alpha4",
                    """
                    service: Checkout
                    backends:
                    - {service: a, weight: 500m}
                    - {service: b, weight: -1}
                    - {service: a, weight: 1}
                    - {service: c}
                    matches: [{kind: HTTPRouteGroup, name: api}]
                    """)))
        .containsExactlyInAnyOrder(
            "ts.yaml:1: spec.service: 'Checkout' (expected: the name of a Service in the TrafficSplit's namespace, a DNS label)",
            "ts.yaml:1: spec.backends[0].weight: '500m' (expected: a relative weight: a whole number such as 50; quantities such as 500m are read in v1alpha2 only)",
            "ts.yaml:1: spec.backends[1].weight: -1 (expected: a relative weight: a whole number such as 50; quantities such as 500m are read in v1alpha2 only, not negative)",
            "ts.yaml:1: spec.backends[3].weight: missing (expected: a relative weight such as 50)",
            "ts.yaml:1: spec.matches: not supported (HTTPRouteGroup and TCPRoute matches are not read; use an HTTPRoute instead)");
    assertThat(
            messages(
                split(
                    "v1alpha2",
                    """
                    service: checkout
                    backends:
                    - {service: a, weight: 0.0001}
                    - {service: b, weight: 5Gi}
                    - {service: b, weight: 5}
                    """)))
        .containsExactlyInAnyOrder(
            "ts.yaml:1: spec.backends[0].weight: 1.0E-4 (expected: a relative weight: a whole number such as 50, or a quantity such as 500m or 1.5; at most three decimals: 1m)",
            "ts.yaml:1: spec.backends[1].weight: '5Gi' (expected: a relative weight: a whole number such as 50, or a quantity such as 500m or 1.5)");
    assertThat(messages(split("v1alpha3", "service: checkout\nbackends: []\n")))
        .containsExactly("ts.yaml:1: spec.backends: empty (expected: at least one backend)");
    assertThat(messages(split("v1alpha1", "service: checkout\n")))
        .containsExactly(
            "ts.yaml:1: apiVersion: 'split.smi-spec.io/v1alpha1' (expected for TrafficSplit: split.smi-spec.io/v1alpha4, split.smi-spec.io/v1alpha3, split.smi-spec.io/v1alpha2)");
  }

  @Test
  void serviceExportIsItsNameAndNeedsNoSpec() {
    PolicyDocuments.Result result =
        PolicyDocuments.read(
            "export.yaml",
            """
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: checkout, namespace: shop}
            ---
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: payments, namespace: shop}
            spec: {}
            status: {conditions: []}
            ---
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: reviews.v2, namespace: shop}
            spec: {ports: [80]}
            """);

    assertThat(result.errors())
        .extracting(PolicyError::toString)
        .containsExactlyInAnyOrder(
            "export.yaml:3: metadata.name: 'reviews.v2' (expected: the name of the Service to export, a DNS label)",
            "export.yaml:3: spec.ports: unknown field");
    assertThat(result.policies())
        .extracting(p -> ((ServiceExport) p).service())
        .containsExactly(ServiceKey.of("shop", "checkout"), ServiceKey.of("shop", "payments"));
    PolicySet set = PolicySet.of(result.policies());
    assertThat(set.exports(ServiceKey.of("shop", "checkout"))).isTrue();
    assertThat(set.exports(ServiceKey.of("web", "checkout"))).isFalse();
    assertThat(set.serviceExports()).hasSize(2);
  }

  @Test
  void kindsAreNamedAsKubectlNamesThem() {
    assertThat(PolicyKind.named("httproutes")).hasValue(PolicyKind.HTTP_ROUTE);
    assertThat(PolicyKind.named("httproute")).hasValue(PolicyKind.HTTP_ROUTE);
    assertThat(PolicyKind.named("HTTPRoute")).hasValue(PolicyKind.HTTP_ROUTE);
    assertThat(PolicyKind.named("grpcroutes")).hasValue(PolicyKind.GRPC_ROUTE);
    assertThat(PolicyKind.named("ts")).hasValue(PolicyKind.TRAFFIC_SPLIT);
    assertThat(PolicyKind.named("trafficsplits")).hasValue(PolicyKind.TRAFFIC_SPLIT);
    assertThat(PolicyKind.named("svcexport")).hasValue(PolicyKind.SERVICE_EXPORT);
    assertThat(PolicyKind.SERVICE_EXPORT.plural()).isEqualTo("serviceexports");
    assertThat(PolicyKind.GRPC_ROUTE.plural()).isEqualTo("grpcroutes");
  }
}
