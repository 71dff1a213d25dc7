package dev.fedmesh.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.testkit.FakeClock;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class UpstreamClusterTest {
  private final FakeClock clock = new FakeClock();

  private static final OutlierDetection OUTLIER =
      OutlierDetection.newBuilder()
          .setConsecutive5Xx(UInt32Value.of(5))
          .setConsecutiveGatewayFailure(UInt32Value.of(2))
          .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100))
          .setSplitExternalLocalOriginErrors(true)
          .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
          .setInterval(Durations.fromSeconds(1))
          .setBaseEjectionTime(Durations.fromSeconds(10))
          .setMaxEjectionPercent(UInt32Value.of(100))
          .build();

  private static Cluster cluster(Cluster.LbPolicy policy) {
    return Cluster.newBuilder()
        .setName("c")
        .setType(Cluster.DiscoveryType.EDS)
        .setLbPolicy(policy)
        .setOutlierDetection(OUTLIER)
        .build();
  }

  private static LocalityLbEndpoints.Builder group(String zone, int priority, String... hosts) {
    LocalityLbEndpoints.Builder group =
        LocalityLbEndpoints.newBuilder()
            .setLocality(Locality.newBuilder().setRegion("r").setZone(zone))
            .setPriority(priority)
            .setLoadBalancingWeight(UInt32Value.of(hosts.length));
    for (String host : hosts) {
      group.addLbEndpoints(endpoint(host, HealthStatus.HEALTHY));
    }
    return group;
  }

  private static LbEndpoint endpoint(String host, HealthStatus health) {
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(
                    Address.newBuilder()
                        .setSocketAddress(
                            SocketAddress.newBuilder().setAddress(host).setPortValue(80))))
        .setHealthStatus(health)
        .build();
  }

  private UpstreamCluster upstream(Cluster config, LocalityLbEndpoints.Builder... groups) {
    UpstreamCluster cluster =
        new UpstreamCluster("c", clock.nanoTime(), RandomGenerator.of("L64X128MixRandom"));
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName("c");
    for (LocalityLbEndpoints.Builder group : groups) {
      assignment.addEndpoints(group);
    }
    cluster.update(config, assignment.build());
    return cluster;
  }

  private static Map<String, Integer> spread(UpstreamCluster cluster, int picks) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < picks; i++) {
      String host = cluster.pick(Set.of()).orElseThrow().address().getHostString();
      counts.merge(host, 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void roundRobinVisitsEveryHostOfTheFirstPriorityOnly() {
    UpstreamCluster cluster =
        upstream(
            cluster(Cluster.LbPolicy.ROUND_ROBIN),
            group("a", 0, "10.0.0.1", "10.0.0.2"),
            group("b", 1, "10.0.1.1"));

    assertThat(spread(cluster, 100)).containsOnlyKeys("10.0.0.1", "10.0.0.2");
  }

  @Test
  void ejectedHostsSpillTrafficToTheNextPriorityByTheOverprovisioningRule() {
    UpstreamCluster cluster =
        upstream(
            cluster(Cluster.LbPolicy.ROUND_ROBIN),
            group("a", 0, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"),
            group("b", 1, "10.0.1.1"));
    UpstreamHost dead = host(cluster, "10.0.0.1");
    dead.recordFailure(FailureKind.CONNECT_FAILURE);
    dead.recordFailure(FailureKind.CONNECT_FAILURE);
    assertThat(dead.ejected()).isTrue();

    // 3 of 4 healthy × 1.4 = 105% → priority 0 still takes everything.
    assertThat(spread(cluster, 400)).containsOnlyKeys("10.0.0.2", "10.0.0.3", "10.0.0.4");

    UpstreamHost second = host(cluster, "10.0.0.2");
    second.recordFailure(FailureKind.GATEWAY_ERROR);
    second.recordFailure(FailureKind.GATEWAY_ERROR);
    // 2 of 4 × 1.4 = 70% stays in priority 0, 30% spills to priority 1.
    Map<String, Integer> counts = spread(cluster, 4000);
    assertThat(counts).containsOnlyKeys("10.0.0.3", "10.0.0.4", "10.0.1.1");
    assertThat(counts.get("10.0.1.1")).isBetween(1000, 1400);
  }

  @Test
  void aDeadLocalityFailsOverCompletelyAndBackAfterTheEjectionTime() {
    UpstreamCluster cluster =
        upstream(
            cluster(Cluster.LbPolicy.ROUND_ROBIN),
            group("a", 0, "10.0.0.1"),
            group("b", 1, "10.0.1.1"));
    UpstreamHost local = host(cluster, "10.0.0.1");
    local.recordFailure(FailureKind.CONNECT_FAILURE);
    local.recordFailure(FailureKind.CONNECT_FAILURE);

    assertThat(spread(cluster, 50)).containsOnlyKeys("10.0.1.1");

    clock.forward(Duration.ofSeconds(10));
    assertThat(local.ejected()).isFalse();
    assertThat(spread(cluster, 50)).containsOnlyKeys("10.0.0.1");
  }

  @Test
  void aSecondEjectionLastsTwiceAsLong() {
    UpstreamCluster cluster =
        upstream(cluster(Cluster.LbPolicy.ROUND_ROBIN), group("a", 0, "10.0.0.1", "10.0.0.2"));
    UpstreamHost host = host(cluster, "10.0.0.1");
    host.recordFailure(FailureKind.RESET);
    host.recordFailure(FailureKind.RESET);
    clock.forward(Duration.ofSeconds(10));
    assertThat(host.ejected()).isFalse();
    host.recordFailure(FailureKind.RESET);
    host.recordFailure(FailureKind.RESET);
    clock.forward(Duration.ofSeconds(15));
    assertThat(host.ejected()).isTrue();
    clock.forward(Duration.ofSeconds(5));
    assertThat(host.ejected()).isFalse();
    assertThat(host.totalEjections()).isEqualTo(2);
  }

  @Test
  void aSuccessResetsTheConsecutiveCount() {
    UpstreamCluster cluster =
        upstream(cluster(Cluster.LbPolicy.ROUND_ROBIN), group("a", 0, "10.0.0.1", "10.0.0.2"));
    UpstreamHost host = host(cluster, "10.0.0.1");
    for (int i = 0; i < 10; i++) {
      host.recordFailure(FailureKind.SERVER_ERROR);
      host.recordFailure(FailureKind.SERVER_ERROR);
      host.recordSuccess();
    }
    assertThat(host.ejected()).isFalse();
    for (int i = 0; i < 5; i++) {
      host.recordFailure(FailureKind.SERVER_ERROR);
    }
    assertThat(host.ejected()).isTrue();
  }

  @Test
  void maxEjectionPercentKeepsSomeHostsInRotation() {
    Cluster config =
        cluster(Cluster.LbPolicy.ROUND_ROBIN).toBuilder()
            .setOutlierDetection(OUTLIER.toBuilder().setMaxEjectionPercent(UInt32Value.of(50)))
            .build();
    UpstreamCluster cluster =
        upstream(config, group("a", 0, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"));
    for (UpstreamHost host : cluster.hosts()) {
      host.recordFailure(FailureKind.CONNECT_FAILURE);
      host.recordFailure(FailureKind.CONNECT_FAILURE);
    }
    assertThat(cluster.hosts().stream().filter(UpstreamHost::ejected)).hasSize(2);
  }

  @Test
  void excludedHostsAreAvoidedSoARetryLandsElsewhere() {
    UpstreamCluster cluster =
        upstream(
            cluster(Cluster.LbPolicy.ROUND_ROBIN),
            group("a", 0, "10.0.0.1"),
            group("b", 1, "10.0.1.1"));
    Set<UpstreamHost> tried = new HashSet<>();
    tried.add(host(cluster, "10.0.0.1"));

    assertThat(cluster.pick(tried).orElseThrow().address().getHostString()).isEqualTo("10.0.1.1");
    tried.add(host(cluster, "10.0.1.1"));
    // Everything tried: a host is still returned rather than failing the request untried.
    assertThat(cluster.pick(tried)).isPresent();
  }

  @Test
  void unhealthyAndDrainingEndpointsTakeNoNewRequests() {
    LocalityLbEndpoints.Builder group = group("a", 0, "10.0.0.1");
    group.addLbEndpoints(endpoint("10.0.0.2", HealthStatus.UNHEALTHY));
    group.addLbEndpoints(endpoint("10.0.0.3", HealthStatus.DRAINING));
    group.addLbEndpoints(endpoint("10.0.0.4", HealthStatus.HEALTHY));
    UpstreamCluster cluster = upstream(cluster(Cluster.LbPolicy.ROUND_ROBIN), group);

    assertThat(spread(cluster, 100)).containsOnlyKeys("10.0.0.1", "10.0.0.4");
  }

  @Test
  void leastRequestPrefersTheLessBusyHost() {
    UpstreamCluster cluster =
        upstream(cluster(Cluster.LbPolicy.LEAST_REQUEST), group("a", 0, "10.0.0.1", "10.0.0.2"));
    UpstreamHost busy = host(cluster, "10.0.0.1");
    for (int i = 0; i < 10; i++) {
      busy.startRequest();
    }
    Map<String, Integer> counts = spread(cluster, 1000);
    // With two choices out of two hosts the idle one wins unless both draws hit the busy one.
    assertThat(counts.get("10.0.0.2")).isGreaterThan(700);
  }

  @Test
  void localitiesShareTrafficByWeight() {
    LocalityLbEndpoints.Builder heavy =
        group("a", 0, "10.0.0.1").setLoadBalancingWeight(UInt32Value.of(3));
    LocalityLbEndpoints.Builder light =
        group("b", 0, "10.0.1.1").setLoadBalancingWeight(UInt32Value.of(1));
    UpstreamCluster cluster = upstream(cluster(Cluster.LbPolicy.ROUND_ROBIN), heavy, light);

    Map<String, Integer> counts = spread(cluster, 4000);
    assertThat(counts.get("10.0.0.1")).isBetween(2800, 3200);
  }

  @Test
  void anEndpointUpdateKeepsTheStateOfHostsThatStay() {
    Cluster config = cluster(Cluster.LbPolicy.ROUND_ROBIN);
    UpstreamCluster cluster = upstream(config, group("a", 0, "10.0.0.1", "10.0.0.2"));
    UpstreamHost host = host(cluster, "10.0.0.1");
    host.recordFailure(FailureKind.CONNECT_FAILURE);
    host.recordFailure(FailureKind.CONNECT_FAILURE);

    cluster.update(
        config,
        ClusterLoadAssignment.newBuilder()
            .addEndpoints(group("a", 0, "10.0.0.1", "10.0.0.2", "10.0.0.3"))
            .build());

    assertThat(host(cluster, "10.0.0.1")).isSameAs(host);
    assertThat(host.ejected()).isTrue();
    assertThat(spread(cluster, 100)).containsOnlyKeys("10.0.0.2", "10.0.0.3");
  }

  private static UpstreamHost host(UpstreamCluster cluster, String address) {
    return cluster.hosts().stream()
        .filter(h -> h.address().getHostString().equals(address))
        .findFirst()
        .orElseThrow();
  }
}
