package dev.fedmesh.chaos;

import static dev.fedmesh.chaos.ChaosLab.awaitLanding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 2: kill -9 of the controller; the data plane runs on, and the control plane recovers. */
class KillControllerIT {
  @TempDir Path dir;

  private static boolean allConnected(String admin) {
    try {
      JsonNode status = new AdminClient(admin).status();
      int connected = 0;
      for (JsonNode cluster : status.path("clusters")) {
        if (cluster.path("connected").asBoolean() && cluster.path("endpoints").asInt() > 0) {
          connected++;
        }
      }
      return connected == 3;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void withTwoReplicasAgentsMoveToTheOtherAndLaterChangesStillReachProxies() throws Exception {
    LocalLab.Options options =
        new LocalLab.Options(1, 2, Duration.ofHours(1), Duration.ofSeconds(60));
    try (ChaosLab lab = ChaosLab.up(dir, options);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");
      String survivor = lab.lab.replicaAdmin(1);

      long killed = lab.kill("controller-0");
      await("every agent on the other replica")
          .atMost(Duration.ofSeconds(60))
          .until(() -> allConnected(survivor));
      long moved = (System.nanoTime() - killed) / 1_000_000;

      // A change made after the kill: west's payments fail their readiness probe.
      Endpoints.setReady(lab, "west", "payments", false);
      awaitLanding(load, "central", Duration.ofSeconds(30));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-controller (2 replicas)",
          Load.disturbanceMillis(results, killed),
          results,
          "agents_moved_ms=" + moved);
      assertThat(Load.failed(results)).as("first error: %s", Load.firstError(results)).isZero();
    }
  }

  @Test
  void withOneReplicaTrafficRunsOnTheLastConfigAndTheModelConvergesAfterRestart() throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        Load load = lab.load("east", "payments", 50)) {
      awaitLanding(load, "west", Duration.ofSeconds(30));
      String admin = lab.lab.replicaAdmin(0);

      long killed = lab.kill("controller-0");
      long before = load.soFar().size();
      await().atMost(Duration.ofSeconds(20)).until(() -> load.soFar().size() > before + 150);
      assertThat(load.lastAnsweredBy(100, "west")).as("traffic runs on the last config").isTrue();

      lab.lab.restart("controller-0");
      await("the model converges").atMost(Duration.ofSeconds(60)).until(() -> allConnected(admin));
      Endpoints.setReady(lab, "west", "payments", false);
      awaitLanding(load, "central", Duration.ofSeconds(60));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-controller (1 replica)", Load.disturbanceMillis(results, killed), results, "");
      assertThat(Load.failed(results)).as("first error: %s", Load.firstError(results)).isZero();
    }
  }
}
