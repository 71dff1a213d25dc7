package dev.fedmesh.chaos;

import static dev.fedmesh.chaos.ChaosLab.awaitLanding;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos 4: an agent dies. Its cluster's endpoints stay routable; after the liveness grace they drop
 * to the lowest priority (traffic prefers live clusters); when it is back, all is as before.
 */
class KillAgentIT {
  private static final Duration GRACE = Duration.ofSeconds(5);

  @TempDir Path dir;

  @Test
  void aDeadAgentsEndpointsStayRoutableThenAreDemotedAndComeBack() throws Exception {
    LocalLab.Options options = new LocalLab.Options(1, 1, Duration.ofHours(1), GRACE);
    try (ChaosLab lab = ChaosLab.up(dir, options);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");

      long stopped = System.nanoTime();
      lab.control("west", "agent/stop");
      // Within the grace period west keeps its place: requests still land there.
      long checkUntil = stopped + GRACE.toNanos() / 2;
      while (System.nanoTime() < checkUntil) {
        Thread.sleep(100);
      }
      List<Load.Result> duringGrace =
          load.soFar().stream()
              .filter(r -> r.sentNanos() > stopped + 500_000_000L && r.doneNanos() < checkUntil)
              .toList();
      assertThat(duringGrace)
          .isNotEmpty()
          .allMatch(r -> r.cluster().filter("west"::equals).isPresent());

      // After the grace, west's endpoints are the last resort: central takes the traffic.
      awaitLanding(load, "central", GRACE.plusSeconds(30));
      long demotedMs = (System.nanoTime() - stopped) / 1_000_000;

      lab.control("west", "agent/start");
      awaitLanding(load, "west", Duration.ofSeconds(30));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-agent west",
          stopped,
          Load.disturbanceMillis(results, stopped),
          results,
          "demoted_after_ms=" + demotedMs);
      Figures.assertNoFailures(results, stopped);
    }
  }
}
