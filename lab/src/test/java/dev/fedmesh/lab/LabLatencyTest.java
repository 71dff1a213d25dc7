package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The figures and the table of {@code fedmesh lab latency}, without a lab. */
class LabLatencyTest {
  private static final LabLatency.Settings SETTINGS =
      new LabLatency.Settings(50, Duration.ofSeconds(10), Duration.ofSeconds(30), 3);

  @Test
  void percentilesAreNearestRankInMillis() {
    List<Long> oneToHundredMs =
        LongStream.rangeClosed(1, 100).map(ms -> ms * 1_000_000).boxed().toList();

    assertThat(LabTraffic.percentile(oneToHundredMs, 0.50)).isEqualTo(50.0);
    assertThat(LabTraffic.percentile(oneToHundredMs, 0.90)).isEqualTo(90.0);
    assertThat(LabTraffic.percentile(oneToHundredMs, 0.99)).isEqualTo(99.0);
    assertThat(LabTraffic.percentile(List.of(2_500_000L), 0.99)).isEqualTo(2.5);
    assertThat(LabTraffic.percentile(List.of(), 0.5)).isZero();
  }

  @Test
  void bothScenariosEndOnTheSamePodAndOnlyTheCrossClusterOneLeavesItsCluster() {
    assertThat(LabLatency.SCENARIOS)
        .extracting(LabLatency.Scenario::name)
        .containsExactly("same-cluster", "cross-cluster");
    LabLatency.Scenario same = LabLatency.SCENARIOS.get(0);
    LabLatency.Scenario cross = LabLatency.SCENARIOS.get(1);
    assertThat(cross.service()).isEqualTo(same.service());
    assertThat(cross.servedIn()).isEqualTo(same.servedIn());
    assertThat(same.from()).isEqualTo(same.servedIn());
    assertThat(cross.from()).isNotEqualTo(cross.servedIn());

    // The callee calls nothing further, is served where the scenarios expect, and the cross-cluster
    // caller's cluster has no copy of it: one hop, through the gateway.
    Map<String, List<dev.fedmesh.lab.cluster.ClusterSpec.Workload>> workloads =
        LabTopology.members().stream()
            .collect(
                java.util.stream.Collectors.toMap(
                    LabTopology.Member::name, LabTopology.Member::workloads));
    assertThat(workloads.get(same.servedIn()))
        .anySatisfy(
            w -> {
              assertThat(w.service()).isEqualTo(same.service());
              assertThat(w.calls()).isEmpty();
            });
    assertThat(workloads.get(cross.from())).noneMatch(w -> w.service().equals(cross.service()));
  }

  @Test
  void roundsTakeTurnsInARotatedOrder() {
    assertThat(LabLatency.order(List.of("a", "b"), 0)).containsExactly("a", "b");
    assertThat(LabLatency.order(List.of("a", "b"), 1)).containsExactly("b", "a");
    assertThat(LabLatency.order(List.of("a", "b"), 2)).containsExactly("a", "b");
    assertThat(LabLatency.order(List.of("a", "b", "c"), 1)).containsExactly("b", "c", "a");
  }

  @Test
  void settingsNameTheFlagThatIsWrong() {
    assertThat(SETTINGS.slice()).isEqualTo(Duration.ofSeconds(10));
    assertThat(SETTINGS.flags()).isEqualTo("--rps 50 --duration 30s --warmup 10s --rounds 3");
    assertThat(new LabLatency.Settings(50, Duration.ZERO, Duration.ofMillis(1500), 1).flags())
        .isEqualTo("--rps 50 --duration 1500ms --warmup 0s --rounds 1");

    assertThatThrownBy(() -> new LabLatency.Settings(0, Duration.ZERO, Duration.ofSeconds(30), 3))
        .hasMessage("--rps: 0 (expected: 1 to 5000)");
    assertThatThrownBy(
            () -> new LabLatency.Settings(50, Duration.ofSeconds(-1), Duration.ofSeconds(30), 3))
        .hasMessage("--warmup: -1s (expected: 0s or more)");
    assertThatThrownBy(() -> new LabLatency.Settings(50, Duration.ZERO, Duration.ofSeconds(30), 0))
        .hasMessage("--rounds: 0 (expected: at least 1)");
    assertThatThrownBy(() -> new LabLatency.Settings(50, Duration.ZERO, Duration.ofSeconds(2), 3))
        .hasMessage("--duration: 2s (expected: at least 1 s per round, 3 s for --rounds 3)");
  }

  @Test
  void tableListsEachScenarioWithItsPercentilesAndTheLoad() {
    LabLatency.Result result =
        new LabLatency.Result(
            SETTINGS,
            List.of(
                row(0, summary(1500, 0, Map.of("west", 1500L), 2.0, 2.5, 4.25, "")),
                row(1, summary(1500, 0, Map.of("west", 1500L), 3.5, 4.0, 9.0, ""))),
            "1.02 1.76 2.92",
            "1.50 1.70 2.80",
            2);

    assertThat(result.ok()).isTrue();
    assertThat(result.table())
        .startsWith("fedmesh lab latency --rps 50 --duration 30s --warmup 10s --rounds 3\n")
        .contains(
            "scenario       from -> to        rate/s  requests  failed   p50 ms   p90 ms   p99 ms"
                + "  served by\n"
                + "same-cluster   west -> payments      50      1500       0     2.00     2.50    "
                + " 4.25  west=1500\n"
                + "cross-cluster  east -> payments      50      1500       0     3.50     4.00    "
                + " 9.00  west=1500\n")
        .contains("cross-cluster: east loadgen -> its sidecar -> west's east-west gateway")
        .contains("load average (1, 5, 15 min): 1.02 1.76 2.92 at start, 1.50 1.70 2.80 at end;")
        .doesNotContain("NOT as intended");
  }

  @Test
  void answersFromAnotherClusterOrFailuresAreNotOk() {
    LabLatency.Result misrouted =
        new LabLatency.Result(
            SETTINGS,
            List.of(row(1, summary(10, 0, Map.of("east", 4L, "west", 6L), 1, 1, 1, ""))),
            "unknown",
            "unknown",
            2);
    assertThat(misrouted.ok()).isFalse();
    assertThat(misrouted.table())
        .contains(
            "NOT as intended: cross-cluster answers came from east=4 west=6 (expected west only)");

    LabLatency.Result failed =
        new LabLatency.Result(
            SETTINGS,
            List.of(row(0, summary(10, 2, Map.of("west", 8L), 1, 1, 1, "503 no healthy upstream"))),
            "unknown",
            "unknown",
            2);
    assertThat(failed.ok()).isFalse();
    assertThat(failed.table()).contains("same-cluster: first error: 503 no healthy upstream");
  }

  @Test
  void loadAverageIsTheFirstThreeFields(@TempDir Path dir) throws Exception {
    Path loadavg = dir.resolve("loadavg");
    Files.writeString(loadavg, "1.02 1.76 2.92 3/812 43110\n");

    assertThat(LabLatency.loadAverage(loadavg)).isEqualTo("1.02 1.76 2.92");
    assertThat(LabLatency.loadAverage(dir.resolve("missing"))).isEqualTo("unknown");
  }

  private static LabLatency.Row row(int scenario, LabTraffic.Summary summary) {
    return new LabLatency.Row(LabLatency.SCENARIOS.get(scenario), summary);
  }

  private static LabTraffic.Summary summary(
      long total,
      long failed,
      Map<String, Long> byCluster,
      double p50,
      double p90,
      double p99,
      String firstError) {
    return new LabTraffic.Summary(
        total,
        failed,
        new java.util.TreeMap<>(byCluster),
        Map.of("v1", total - failed),
        p50,
        p90,
        p99,
        firstError);
  }
}
