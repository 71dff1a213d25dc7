package dev.fedmesh.chaos;

import static dev.fedmesh.chaos.ChaosLab.awaitLanding;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 5: a cluster's east-west gateway dies; callers elsewhere fail over to the next region. */
class KillGatewayIT {
  @TempDir Path dir;

  @Test
  void callersInOtherClustersFailOverToTheNextRegion() throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");

      long killed = System.nanoTime();
      lab.control("west", "gateway/stop");
      awaitLanding(load, "central", Duration.ofSeconds(10));
      List<Load.Result> window = load.soFar();
      long failover = Load.disturbanceMillis(window, killed);
      long firstCentral = Load.firstAnswerMillis(window, killed, "central");

      lab.control("west", "gateway/start");
      awaitLanding(load, "west", Duration.ofSeconds(60));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-gateway west",
          killed,
          failover,
          results,
          "first_answer_from_central_ms=" + firstCentral);
      Figures.assertNoFailures(results, killed);
      assertThat(failover).isLessThan(5_000);
    }
  }
}
