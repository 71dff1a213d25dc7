package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.ControllerMetrics;
import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ProxyRole;
import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.FakeClock;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Incremental generation must serve exactly what generating from scratch would. */
class XdsPublisherTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final List<ProxyContext> GROUPS =
      List.of(
          new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "mesh", EAST_A),
          new ProxyContext(ProxyRole.SIDECAR, "west", "mesh", WEST_A),
          new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A)
              .withWorkload("default", java.util.Map.of())
              .withDnsCapture(true),
          new ProxyContext(ProxyRole.GATEWAY, "west", "mesh", WEST_A));

  private final FakeClock clock = new FakeClock();
  private final XdsPublisher publisher =
      new XdsPublisher(clock.clock(), clock.nanoTime(), new ControllerMetrics());

  private static MeshSnapshot meshWith(int services, String changedAddress, boolean westDemoted) {
    return meshWith(services, changedAddress, westDemoted, 0);
  }

  /** As above, with the first {@code virtualAddresses} services given a virtual address. */
  private static MeshSnapshot meshWith(
      int services, String changedAddress, boolean westDemoted, int virtualAddresses) {
    MeshFixtures fixtures =
        mesh()
            .cluster("east", "mesh", EAST_A)
            .cluster(
                "west", "mesh", WEST_A, new dev.fedmesh.model.GatewayAddress("127.2.0.1", 15443));
    for (int i = 0; i < services; i++) {
      ServiceKey key = ServiceKey.of("default", "svc-" + i);
      fixtures
          .service(
              "east",
              key,
              GRPC_7070,
              true,
              endpoint(i == 0 ? changedAddress : "10.1.0." + i, 8080, EAST_A))
          .service("west", key, GRPC_7070, true, endpoint("10.2.0." + i, 8080, WEST_A));
    }
    if (westDemoted) {
      fixtures.liveness("west", Liveness.DEMOTED);
    }
    // A service only west runs: east's DNS answers it with its virtual address, once it has one.
    ServiceKey westOnly = ServiceKey.of("default", "west-only");
    fixtures.service("west", westOnly, GRPC_7070, true, endpoint("10.2.1.1", 8080, WEST_A));
    if (virtualAddresses > 0) {
      fixtures.virtualAddress(westOnly.fqdn(), "240.240.1.1");
    }
    for (int i = 0; i < virtualAddresses; i++) {
      fixtures.virtualAddress(ServiceKey.of("default", "svc-" + i).fqdn(), "240.240.0." + (i + 1));
    }
    return fixtures.build();
  }

  @Test
  void everyPushServesWhatAFreshGenerationWould() {
    GROUPS.forEach(publisher::addGroup);
    List<MeshSnapshot> history = new ArrayList<>();
    history.add(meshWith(5, "10.1.0.100", false));
    history.add(meshWith(5, "10.1.0.101", false)); // one endpoint changes
    history.add(meshWith(6, "10.1.0.101", false)); // a service appears
    history.add(meshWith(4, "10.1.0.101", false)); // two disappear
    history.add(meshWith(4, "10.1.0.101", true)); // a cluster is demoted
    history.add(meshWith(4, "10.1.0.101", true, 2)); // two services get virtual addresses
    history.add(meshWith(4, "10.1.0.101", true, 1)); // one address is released

    for (MeshSnapshot mesh : history) {
      publisher.publish(mesh);
      for (ProxyContext group : GROUPS) {
        XdsSnapshot served = publisher.servedSnapshot(group);
        XdsSnapshot fresh = XdsSnapshot.of(ConfigGenerator.generate(mesh, group));
        for (ResourceType type :
            List.of(
                ResourceType.CLUSTER,
                ResourceType.ENDPOINT,
                ResourceType.LISTENER,
                ResourceType.ROUTE)) {
          assertThat(served.resources(type))
              .as("%s %s", group.role(), type)
              .isEqualTo(fresh.resources(type));
          assertThat(served.version(type, List.of())).isEqualTo(fresh.version(type, List.of()));
        }
      }
    }
  }

  private static final String ENTRIES =
      """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: httpbin, namespace: egress}
      spec:
        hosts: [httpbin.org]
        resolution: DNS
        ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: tls, protocol: TLS}]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: pricing, namespace: egress}
      spec:
        hosts: [pricing.example.com]
        resolution: STATIC
        ports: [{number: 7070, name: grpc, protocol: GRPC}]
        endpoints: [{address: 192.0.2.7}]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: httpbin, namespace: egress}
      spec:
        hosts: [httpbin.org]
        http:
        - route:
          - destination: {host: httpbin.org}
            weight: 50
          - destination: {host: svc-0.default.svc.cluster.local, port: {number: 7070}}
            weight: 50
      """;

  @Test
  void serviceEntriesComeGoAndFollowTheServicesTheirRoutesName() {
    GROUPS.forEach(publisher::addGroup);
    MeshSnapshot plain = meshWith(2, "10.1.0.100", false);
    MeshSnapshot entries =
        new MeshSnapshot(
            2,
            2,
            plain.clusters(),
            plain.services(),
            plain.failover(),
            dev.fedmesh.model.policy.PolicySet.of(
                dev.fedmesh.model.policy.PolicyDocuments.read("se.yaml", ENTRIES).policies()),
            0);
    MeshSnapshot serviceGone =
        new MeshSnapshot(
            3,
            3,
            entries.clusters(),
            new java.util.TreeMap<>(
                java.util.Map.of(
                    ServiceKey.of("default", "svc-1"),
                    entries.services().get(ServiceKey.of("default", "svc-1")))),
            entries.failover(),
            entries.policies(),
            0);

    for (MeshSnapshot mesh : List.of(plain, entries, serviceGone, entries, plain)) {
      publisher.publish(mesh);
      for (ProxyContext group : GROUPS) {
        XdsSnapshot served = publisher.servedSnapshot(group);
        XdsSnapshot fresh = XdsSnapshot.of(ConfigGenerator.generate(mesh, group));
        for (ResourceType type :
            List.of(
                ResourceType.CLUSTER,
                ResourceType.ENDPOINT,
                ResourceType.LISTENER,
                ResourceType.ROUTE)) {
          assertThat(served.resources(type))
              .as("%s %s", group.role(), type)
              .isEqualTo(fresh.resources(type));
        }
      }
    }
  }

  @Test
  void anEndpointChangeKeepsEveryOtherResourceObjectAndVersion() {
    ProxyContext group = GROUPS.get(0);
    publisher.addGroup(group);
    publisher.publish(meshWith(3, "10.1.0.100", false));
    XdsSnapshot before = publisher.servedSnapshot(group);

    publisher.publish(meshWith(3, "10.1.0.101", false));
    XdsSnapshot after = publisher.servedSnapshot(group);

    String changed = "outbound|7070||svc-0.default.svc.cluster.local";
    String unchanged = "outbound|7070||svc-1.default.svc.cluster.local";
    assertThat(after.resources(ResourceType.ENDPOINT).get(unchanged))
        .isSameAs(before.resources(ResourceType.ENDPOINT).get(unchanged));
    assertThat(after.version(ResourceType.ENDPOINT, List.of(unchanged)))
        .isEqualTo(before.version(ResourceType.ENDPOINT, List.of(unchanged)));
    assertThat(after.version(ResourceType.ENDPOINT, List.of(changed)))
        .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of(changed)));
    assertThat(after.version(ResourceType.CLUSTER, List.of()))
        .isEqualTo(before.version(ResourceType.CLUSTER, List.of()));
    assertThat(after.resources(ResourceType.CLUSTER).get(changed))
        .isSameAs(before.resources(ResourceType.CLUSTER).get(changed));
  }
}
