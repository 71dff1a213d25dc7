package dev.fedmesh.controller.analysis;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshAnalysisTest {
  private static final Locality EAST = Locality.of("us-east", "us-east-a");
  private static final ServiceKey CHECKOUT = ServiceKey.of("shop", "checkout");
  private static final ServiceKey CART = ServiceKey.of("shop", "cart");
  private static final ServicePort HTTP = new ServicePort("http", 8080, Protocol.HTTP);

  @Test
  void reportsEachKindOfFindingWithItsCode() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "mesh", EAST)
            .shard(
                "east",
                CHECKOUT,
                List.of(HTTP),
                true,
                new Endpoint(
                    "10.0.0.1",
                    Map.of(),
                    EAST,
                    EndpointHealth.HEALTHY,
                    Map.of("version", "v1"),
                    "checkout",
                    1,
                    "checkout-v1"))
            .shard(
                "east",
                CART,
                List.of(HTTP),
                true,
                new Endpoint(
                    "10.0.0.2",
                    Map.of(),
                    EAST,
                    EndpointHealth.UNHEALTHY,
                    Map.of(),
                    "cart",
                    1,
                    "cart"))
            .policies(
                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: checkout, namespace: shop}
                spec:
                  host: checkout
                  subsets: [{name: v1, labels: {version: v1}}, {name: v3, labels: {version: v3}}]
                  trafficPolicy:
                    loadBalancer:
                      localityLbSetting: {failover: [{from: us-east, to: mars-north}]}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: checkout, namespace: shop}
                spec:
                  hosts: [checkout]
                  http:
                  - match: [{uri: {prefix: /old}}]
                    route: [{destination: {host: legacy}}]
                  - route: [{destination: {host: checkout, subset: v1}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: ghost, namespace: shop}
                spec:
                  hosts: [ghost]
                  http: [{route: [{destination: {host: checkout}}]}]
                """)
            .build();

    List<MeshAnalysis.Finding> findings = MeshAnalysis.findings(snapshot);

    assertThat(findings)
        .extracting(f -> f.code() + " " + f.subject() + " " + f.path())
        .containsExactlyInAnyOrder(
            "FM001 VirtualService/shop/ghost spec.hosts[0]",
            "FM007 VirtualService/shop/checkout spec.http[0].route[0].destination.host",
            "FM002 DestinationRule/shop/checkout spec.subsets[1]",
            "FM003 DestinationRule/shop/checkout spec.subsets[1]",
            "FM006 DestinationRule/shop/checkout spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]",
            "FM005 cart.shop.svc.cluster.local ");
  }

  @Test
  void hostsLeftWithoutAVirtualAddressAreFoundWithTheRangeToGrow() {
    List<MeshAnalysis.Finding> findings =
        MeshAnalysis.findings(
            mesh().cluster("east", "mesh", EAST).build(),
            List.of("payments.shop.svc.cluster.local"),
            "240.240.0.0/30");
    assertThat(findings)
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.code()).isEqualTo("FM009");
              assertThat(finding.subject()).isEqualTo("payments.shop.svc.cluster.local");
              assertThat(finding.message())
                  .contains("240.240.0.0/30")
                  .contains("--virtual-address-range");
            });
  }

  @Test
  void aMeshWithoutPoliciesOrStrandedExportsHasNoFindings() {
    assertThat(MeshAnalysis.findings(mesh().cluster("east", "mesh", EAST).build())).isEmpty();
  }

  @Test
  void hostsOfServiceEntriesAreKnown() {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "mesh", EAST)
            .policies(
                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: httpbin, namespace: egress}
                spec:
                  hosts: [httpbin.org]
                  resolution: DNS
                  ports: [{number: 80, name: http, protocol: HTTP}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: httpbin, namespace: egress}
                spec:
                  hosts: [httpbin.org]
                  http:
                  - route: [{destination: {host: httpbin.org}}]
                    timeout: 2s
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: httpbin, namespace: egress}
                spec:
                  host: httpbin.org
                  trafficPolicy: {tls: {mode: SIMPLE}}
                """)
            .build();

    assertThat(MeshAnalysis.findings(snapshot)).isEmpty();
  }
}
