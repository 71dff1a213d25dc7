package dev.fedmesh.model.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyDocumentsTest {
  private static final String CANARY =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: checkout
        namespace: shop
      spec:
        hosts: [checkout]
        http:
        - name: canary-header
          match:
          - headers:
              x-canary: {exact: "true"}
            uri: {prefix: /api}
            method: {exact: POST}
          route:
          - destination: {host: checkout, subset: v2}
        - route:
          - destination: {host: checkout, subset: v1, port: {number: 8080}}
            weight: 90
          - destination: {host: checkout.shop.svc.cluster.local, subset: v2}
            weight: 10
          retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,connect-failure"}
          timeout: 2s
          fault:
            abort: {httpStatus: 503, percentage: {value: 50}}
            delay: {fixedDelay: 1.5s, percent: 10}
          headers:
            request: {set: {x-env: prod}, remove: [x-debug]}
      ---
      apiVersion: networking.istio.io/v1beta1
      kind: DestinationRule
      metadata: {name: checkout, namespace: shop}
      spec:
        host: checkout
        trafficPolicy:
          loadBalancer:
            simple: LEAST_CONN
            localityLbSetting:
              failover: [{from: us-east, to: eu-central}]
          outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s}
        subsets:
        - {name: v1, labels: {version: v1}}
        - name: v2
          labels: {version: v2}
          trafficPolicy:
            loadBalancer:
              consistentHash: {httpHeaderName: x-user}
      """;

  @Test
  void readsIstioDocumentsIntoTypedPolicies() {
    PolicyDocuments.Result result = PolicyDocuments.read("canary.yaml", CANARY);

    assertThat(result.errors()).isEmpty();
    assertThat(result.policies()).hasSize(2);
    VirtualService vs = (VirtualService) result.policies().get(0);
    assertThat(vs.hosts()).containsExactly("checkout.shop.svc.cluster.local");
    assertThat(vs.http().get(0).match().get(0).headers().get("x-canary"))
        .isEqualTo(new StringMatch(StringMatch.Type.EXACT, "true"));
    VirtualService.HttpRoute weighted = vs.http().get(1);
    assertThat(weighted.route())
        .extracting(VirtualService.Destination::subset, VirtualService.Destination::weight)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("v1", 90),
            org.assertj.core.groups.Tuple.tuple("v2", 10));
    assertThat(weighted.route().get(0).port()).hasValue(8080);
    assertThat(weighted.retries().orElseThrow().perTryTimeout()).hasValue(Duration.ofMillis(500));
    assertThat(weighted.timeout()).hasValue(Duration.ofSeconds(2));
    assertThat(weighted.fault().orElseThrow().abortPercent()).isEqualTo(50.0);
    assertThat(weighted.fault().orElseThrow().delay()).hasValue(Duration.ofMillis(1500));
    assertThat(weighted.fault().orElseThrow().delayPercent()).isEqualTo(10.0);
    assertThat(weighted.headers().request().set()).containsEntry("x-env", "prod");

    DestinationRule dr = (DestinationRule) result.policies().get(1);
    assertThat(dr.host()).isEqualTo("checkout.shop.svc.cluster.local");
    DestinationRule.LoadBalancer lb = dr.trafficPolicy().orElseThrow().loadBalancer().orElseThrow();
    assertThat(lb.simple()).hasValue("LEAST_REQUEST");
    assertThat(lb.localityLbSetting().orElseThrow().failover())
        .containsExactly(new LocalityLbSetting.Failover("us-east", "eu-central"));
    assertThat(
            dr.subset("v2")
                .orElseThrow()
                .trafficPolicy()
                .orElseThrow()
                .loadBalancer()
                .orElseThrow()
                .consistentHash()
                .orElseThrow()
                .httpHeaderName())
        .isEqualTo("x-user");
  }

  @Test
  void everyErrorIsOneLineWithFileDocumentAndPath() {
    String text =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: ok, namespace: shop}
        spec: {host: payments}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bad, namespace: shop}
        spec:
          hosts: [checkout]
          http:
          - mirror: {host: checkout-shadow}
            timeout: -1s
            route:
            - destination: {host: checkout, subset: v1}
              weight: 80
            - destination: {host: checkout, subset: v2}
              weight: 30
            retries: {attempts: 2, retryOn: "5xx,sometimes"}
            colour: blue
        """;

    PolicyDocuments.Result result = PolicyDocuments.read("bad.yaml", text);

    assertThat(result.errors())
        .extracting(PolicyError::toString)
        .containsExactlyInAnyOrder(
            "bad.yaml:2: spec.http[0].mirror: not supported (traffic mirroring)",
            "bad.yaml:2: spec.http[0].timeout: '-1s' (expected: a duration such as 500ms, 1.5s or 1m, not negative)",
            "bad.yaml:2: spec.http[0].route: weights add up to 110 (expected: 100)",
            "bad.yaml:2: spec.http[0].retries.retryOn: 'sometimes' (expected: comma-separated conditions among "
                + String.join(", ", VirtualService.RETRY_ON)
                + ", or HTTP status codes)",
            "bad.yaml:2: spec.http[0].colour: unknown field");
    assertThat(result.policies()).hasSize(1).first().isInstanceOf(DestinationRule.class);
    assertThat(result.hasErrors()).isTrue();
  }

  @Test
  void emptyDocumentsBetweenSeparatorsAreSkippedButCounted() {
    String dr =
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec: {host: a}\n";
    PolicyDocuments.Result result =
        PolicyDocuments.read(
            "f", "---\n" + dr + "---\n---\n" + dr.replace("name: a", "name: b") + "---\n");

    assertThat(result.errors()).isEmpty();
    assertThat(result.documents())
        .extracting(PolicyDocuments.Document::index)
        .containsExactly(1, 3);
  }

  @Test
  void malformedYamlNamesTheLine() {
    PolicyDocuments.Result result =
        PolicyDocuments.read("broken.yaml", "apiVersion: v1\nkind: [unclosed\nmetadata: {}\n");

    assertThat(result.errors()).hasSize(1);
    assertThat(result.errors().get(0).toString())
        .startsWith("broken.yaml:1: malformed YAML: line ");
  }

  @Test
  void unknownKindsAndVersionsAreNamed() {
    PolicyDocuments.Result result =
        PolicyDocuments.read(
            "-",
            """
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: x}
            spec: {}
            ---
            apiVersion: networking.istio.io/v2
            kind: VirtualService
            metadata: {name: x}
            spec: {}
            """);

    assertThat(result.errors())
        .extracting(PolicyError::toString)
        .containsExactly(
            "-:1: kind: 'Sidecar' (expected: one of VirtualService, DestinationRule,"
                + " PeerAuthentication, AuthorizationPolicy, MeshConfig, HTTPRoute, GRPCRoute,"
                + " TrafficSplit, ServiceExport, ServiceEntry)",
            "-:2: apiVersion: 'networking.istio.io/v2' (expected for VirtualService:"
                + " networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3)");
  }

  @Test
  void failoverTogetherWithDistributeIsRefusedAsIstioRefusesIt() {
    PolicyDocuments.Result result =
        PolicyDocuments.read(
            "lb.yaml",
            """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: payments, namespace: shop}
            spec:
              host: payments
              trafficPolicy:
                loadBalancer:
                  localityLbSetting:
                    distribute:
                    - from: us-east/*
                      to: {"us-east/*": 80, "us-west/*": 10}
                    failover: [{from: us-east, to: us-east}]
            """);

    assertThat(result.errors())
        .extracting(PolicyError::toString)
        .containsExactlyInAnyOrder(
            "lb.yaml:1: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: percents add up to 90 (expected: 100)",
            "lb.yaml:1: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0].to: 'us-east' (expected: a region other than from)",
            "lb.yaml:1: spec.trafficPolicy.loadBalancer.localityLbSetting: sets both distribute and failover (expected: one of them, as Istio requires)");
  }

  @Test
  void aDocumentTooLargeForTheStoreIsRefusedWithItsSize() {
    String big = "x".repeat(5 * 1024 * 1024);
    PolicyDocuments.Result result =
        PolicyDocuments.read(
            "big.yaml",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: big\n  labels: {blob: \""
                + big
                + "\"}\nspec: {host: payments}\n");

    assertThat(result.errors()).hasSize(1);
    assertThat(result.errors().get(0).toString())
        .startsWith("big.yaml:1: document of 524")
        .contains("(expected: at most " + PolicyDocuments.MAX_DOCUMENT_BYTES + " bytes");
    assertThat(result.policies()).isEmpty();
  }

  @Test
  void routesToSubsetsTheirDestinationRuleLacksAreConflicts() {
    PolicyDocuments.Result result =
        PolicyDocuments.read("canary.yaml", CANARY.replace("name: v2\n", "name: v3\n"));
    PolicySet set = PolicySet.of(result.policies());

    List<PolicySet.Conflict> conflicts = set.check(false);

    assertThat(conflicts)
        .extracting(PolicySet.Conflict::path)
        .containsExactly(
            "spec.http[0].route[0].destination.subset", "spec.http[1].route[1].destination.subset");
    assertThat(conflicts.get(0).message())
        .contains("'v2' is not a subset of DestinationRule/shop/checkout");
  }

  @Test
  void twoVirtualServicesForOneHostInOneNamespaceConflict() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: NAME, namespace: shop}
        spec:
          hosts: [payments]
          http: [{route: [{destination: {host: payments}}]}]
        """;
    PolicySet set =
        PolicySet.of(
            PolicyDocuments.read("a", vs.replace("NAME", "a") + "---\n" + vs.replace("NAME", "b"))
                .policies());

    assertThat(set.check(true))
        .extracting(PolicySet.Conflict::message)
        .containsExactly(
            "'payments.shop.svc.cluster.local' is already routed by VirtualService/shop/a (expected: one VirtualService per host in a namespace; merge them)");
  }

  @Test
  void durationsReadGoForms() {
    assertThat(PolicyDurations.parse("1m30s")).hasValue(Duration.ofSeconds(90));
    assertThat(PolicyDurations.parse("250ms")).hasValue(Duration.ofMillis(250));
    assertThat(PolicyDurations.parse("1.5s")).hasValue(Duration.ofMillis(1500));
    assertThat(PolicyDurations.parse("2h")).hasValue(Duration.ofHours(2));
    assertThat(PolicyDurations.parse("-1s")).isEmpty();
    assertThat(PolicyDurations.parse("10")).isEmpty();
    assertThat(PolicyDurations.parse("s")).isEmpty();
  }
}
