package dev.fedmesh.chaos;

import static dev.fedmesh.chaos.ChaosLab.awaitLanding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 1: kill -9 of a whole cluster while traffic flows; nothing is lost. */
class KillClusterIT {
  @TempDir Path dir;

  @Test
  void killingWestMovesPaymentsToCentralWithoutAFailedRequestAndRevivingBringsItBack()
      throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        Load load = lab.load("east", "payments", 50)) {
      // Callers in us-east go to us-west first, by the lab's failover order.
      ChaosLab.awaitSteady(load, "west");

      long killed = lab.kill("cluster-west");
      awaitLanding(load, "central", Duration.ofSeconds(10));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  load.soFar().stream().filter(r -> r.sentNanos() > killed + 2_000_000_000L).count()
                      > 100);
      List<Load.Result> duringFailover = load.soFar();
      long failover = Load.disturbanceMillis(duringFailover, killed);
      long firstCentral = Load.firstAnswerMillis(duringFailover, killed, "central");

      lab.lab.reviveCluster("west");
      awaitLanding(load, "west", Duration.ofSeconds(90));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-cluster west",
          killed,
          failover,
          results,
          "first_answer_from_central_ms="
              + firstCentral
              + ", max_latency_after_kill_ms="
              + Load.maxLatencyMillis(results, killed));
      Figures.assertNoFailures(results, killed);
      assertThat(failover).isLessThan(5_000);
    }
  }
}
