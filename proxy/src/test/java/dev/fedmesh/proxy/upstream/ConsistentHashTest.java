package dev.fedmesh.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.testkit.FakeClock;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * RING_HASH and MAGLEV: a key keeps its host while the host set stays, about 1/N of 10,000 keys
 * move when a host joins or leaves, and an ejected or unhealthy host's keys (only those) go
 * elsewhere.
 */
class ConsistentHashTest {
  private static final int KEYS = 10_000;
  private final FakeClock clock = new FakeClock();

  private static Cluster cluster(Cluster.LbPolicy policy) {
    return Cluster.newBuilder()
        .setName("c")
        .setType(Cluster.DiscoveryType.EDS)
        .setLbPolicy(policy)
        .setOutlierDetection(
            OutlierDetection.newBuilder()
                .setConsecutiveGatewayFailure(UInt32Value.of(2))
                .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100))
                .setSplitExternalLocalOriginErrors(true)
                .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
                .setInterval(Durations.fromSeconds(1))
                .setBaseEjectionTime(Durations.fromSeconds(10))
                .setMaxEjectionPercent(UInt32Value.of(100)))
        .build();
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

  private static ClusterLoadAssignment hosts(int count) {
    LocalityLbEndpoints.Builder group = LocalityLbEndpoints.newBuilder();
    for (int i = 1; i <= count; i++) {
      group.addLbEndpoints(endpoint("10.0.0." + i, HealthStatus.HEALTHY));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName("c").addEndpoints(group).build();
  }

  private UpstreamCluster upstream(Cluster config, ClusterLoadAssignment endpoints) {
    UpstreamCluster cluster =
        new UpstreamCluster("c", clock.nanoTime(), RandomGenerator.of("L64X128MixRandom"));
    cluster.update(config, endpoints);
    return cluster;
  }

  private static long key(int i) {
    return XxHash64.hash("user-" + i);
  }

  private static String[] assign(UpstreamCluster cluster) {
    String[] hosts = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      hosts[i] = cluster.pick(Set.of(), key(i), true).orElseThrow().toString();
    }
    return hosts;
  }

  private static int moved(String[] before, String[] after) {
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      if (!before[i].equals(after[i])) {
        moved++;
      }
    }
    return moved;
  }

  @Test
  void xxHash64MatchesTheReferenceVectors() {
    assertThat(XxHash64.hash("")).isEqualTo(0xEF46DB3751D8E999L);
    assertThat(XxHash64.hash("a")).isEqualTo(0xD24EC4F1A98C6E5BL);
    assertThat(XxHash64.hash("abc")).isEqualTo(0x44BC2CF5AD770999L);
    assertThat(XxHash64.hash("Nobody inspects the spammish repetition"))
        .isEqualTo(0xFBCEA83C8A378BF1L);
    assertThat(XxHash64.hash("xxhash".getBytes(StandardCharsets.UTF_8), 20141025))
        .isEqualTo(0xB559B98D844E0635L);
  }

  @ParameterizedTest
  @EnumSource(
      value = Cluster.LbPolicy.class,
      names = {"RING_HASH", "MAGLEV"})
  void aKeyKeepsItsHostAndKeysSpreadOverEveryHost(Cluster.LbPolicy policy) {
    UpstreamCluster cluster = upstream(cluster(policy), hosts(10));
    String[] first = assign(cluster);
    String[] again = assign(cluster);
    // A second proxy with the same hosts (in another EDS order) agrees on every key.
    ClusterLoadAssignment reversed =
        hosts(10).toBuilder()
            .setEndpoints(
                0,
                LocalityLbEndpoints.newBuilder()
                    .addAllLbEndpoints(
                        IntStream.rangeClosed(1, 10)
                            .map(i -> 11 - i)
                            .mapToObj(i -> endpoint("10.0.0." + i, HealthStatus.HEALTHY))
                            .toList()))
            .build();
    String[] other = assign(upstream(cluster(policy), reversed));

    assertThat(moved(first, again)).isZero();
    assertThat(moved(first, other)).isZero();
    Map<String, Integer> spread = new HashMap<>();
    for (String host : first) {
      spread.merge(host, 1, Integer::sum);
    }
    assertThat(spread).hasSize(10);
    // Each host's share is 1/10 within a third (ring) or a tenth (Maglev's table is even).
    int slack = policy == Cluster.LbPolicy.MAGLEV ? KEYS / 100 : KEYS / 30;
    assertThat(spread.values())
        .allSatisfy(n -> assertThat(n).isBetween(1000 - slack, 1000 + slack));
  }

  @ParameterizedTest
  @EnumSource(
      value = Cluster.LbPolicy.class,
      names = {"RING_HASH", "MAGLEV"})
  void aHostJoiningOrLeavingMovesAboutOneNthOfTheKeys(Cluster.LbPolicy policy) {
    String[] ten = assign(upstream(cluster(policy), hosts(10)));
    String[] eleven = assign(upstream(cluster(policy), hosts(11)));
    String[] nine = assign(upstream(cluster(policy), hosts(9)));

    int joined = moved(ten, eleven);
    int left = moved(ten, nine);
    // Ideal: 1/11 of the keys go to the new host; the leaving host's 1/10 find new hosts.
    assertThat(joined).isBetween(KEYS / 11 * 7 / 10, KEYS / 11 * 13 / 10);
    assertThat(left).isBetween(KEYS / 10 * 7 / 10, KEYS / 10 * 13 / 10);
    for (int i = 0; i < KEYS; i++) {
      if (!ten[i].equals(eleven[i]) && policy == Cluster.LbPolicy.RING_HASH) {
        assertThat(eleven[i]).isEqualTo("10.0.0.11:80"); // a ring moves keys to the joiner only
      }
      if (ten[i].equals("10.0.0.10:80")) {
        assertThat(nine[i]).isNotEqualTo("10.0.0.10:80");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Cluster.LbPolicy.class,
      names = {"RING_HASH", "MAGLEV"})
  void anEjectedHostsKeysAndOnlyThoseWalkOnToOtherHosts(Cluster.LbPolicy policy) {
    UpstreamCluster cluster = upstream(cluster(policy), hosts(10));
    String[] before = assign(cluster);
    UpstreamHost dead =
        cluster.hosts().stream()
            .filter(h -> h.toString().equals("10.0.0.3:80"))
            .findFirst()
            .orElseThrow();
    dead.recordFailure(FailureKind.CONNECT_FAILURE);
    dead.recordFailure(FailureKind.CONNECT_FAILURE);
    assertThat(dead.ejected()).isTrue();

    String[] after = assign(cluster);

    Map<String, Integer> inherited = new HashMap<>();
    for (int i = 0; i < KEYS; i++) {
      if (before[i].equals("10.0.0.3:80")) {
        assertThat(after[i]).isNotEqualTo("10.0.0.3:80");
        inherited.merge(after[i], 1, Integer::sum);
      } else {
        assertThat(after[i]).isEqualTo(before[i]);
      }
    }
    // The orphaned keys spread over the survivors rather than piling onto one neighbour.
    assertThat(inherited.size()).isGreaterThanOrEqualTo(5);
  }

  @Test
  void aHostUnhealthyByEdsIsPassedOverAndATriedHostIsAvoidedOnRetry() {
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(endpoint("10.0.0.1", HealthStatus.HEALTHY))
                    .addLbEndpoints(endpoint("10.0.0.2", HealthStatus.UNHEALTHY))
                    .addLbEndpoints(endpoint("10.0.0.3", HealthStatus.HEALTHY))
                    .addLbEndpoints(endpoint("10.0.0.4", HealthStatus.HEALTHY)))
            .build();
    UpstreamCluster cluster = upstream(cluster(Cluster.LbPolicy.RING_HASH), endpoints);

    String[] hosts = assign(cluster);
    assertThat(hosts).doesNotContain("10.0.0.2:80");
    UpstreamHost first = cluster.pick(Set.of(), key(7), true).orElseThrow();
    UpstreamHost retry = cluster.pick(Set.of(first), key(7), true).orElseThrow();
    assertThat(retry).isNotEqualTo(first);
    assertThat(cluster.pick(Set.of(first), key(7), true)).hasValue(retry);
  }

  @Test
  void requestsWithoutAKeyGoToRandomHosts() {
    UpstreamCluster cluster = upstream(cluster(Cluster.LbPolicy.MAGLEV), hosts(4));
    Map<String, Integer> spread = new HashMap<>();
    for (int i = 0; i < 4000; i++) {
      spread.merge(cluster.pick(Set.of()).orElseThrow().toString(), 1, Integer::sum);
    }
    assertThat(spread).hasSize(4);
    assertThat(spread.values()).allSatisfy(n -> assertThat(n).isBetween(800, 1200));
  }

  @Test
  void keysHashWithinTheFirstPriorityWhileItIsHealthy() {
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .setPriority(0)
                    .addLbEndpoints(endpoint("10.0.0.1", HealthStatus.HEALTHY))
                    .addLbEndpoints(endpoint("10.0.0.2", HealthStatus.HEALTHY)))
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .setPriority(1)
                    .addLbEndpoints(endpoint("10.0.1.1", HealthStatus.HEALTHY)))
            .build();
    UpstreamCluster cluster = upstream(cluster(Cluster.LbPolicy.RING_HASH), endpoints);

    assertThat(List.of(assign(cluster))).containsOnly("10.0.0.1:80", "10.0.0.2:80");
  }

  @Test
  void weightsAndASmallRingStillCoverEveryHost() {
    Cluster config =
        cluster(Cluster.LbPolicy.RING_HASH).toBuilder()
            .setRingHashLbConfig(
                Cluster.RingHashLbConfig.newBuilder()
                    .setMinimumRingSize(UInt64Value.of(64))
                    .setMaximumRingSize(UInt64Value.of(256)))
            .build();
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(
                        endpoint("10.0.0.1", HealthStatus.HEALTHY).toBuilder()
                            .setLoadBalancingWeight(UInt32Value.of(3)))
                    .addLbEndpoints(endpoint("10.0.0.2", HealthStatus.HEALTHY)))
            .build();
    Map<String, Integer> spread = new HashMap<>();
    for (String host : assign(upstream(config, endpoints))) {
      spread.merge(host, 1, Integer::sum);
    }
    assertThat(spread.get("10.0.0.1:80")).isBetween(6500, 8500);
  }
}
