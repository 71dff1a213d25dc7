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
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 2: kill -9 of the controller; the data plane runs on, and the control plane recovers. */
class KillControllerIT {
  private static final List<String> CLUSTERS = List.of("east", "west", "central");
  private static final Set<String> SERVICES =
      Set.of(
          "frontend.shop.svc.cluster.local",
          "checkout.shop.svc.cluster.local",
          "payments.shop.svc.cluster.local");

  @TempDir Path dir;

  private static boolean allConnected(AdminClient admin) {
    try {
      JsonNode status = admin.status();
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
      AdminClient survivor = lab.lab.adminClient(lab.lab.replicaAdmin(1));

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
          killed,
          Load.disturbanceMillis(results, killed),
          results,
          "agents_moved_ms=" + moved);
      Figures.assertNoFailures(results, killed);
    }
  }

  /**
   * Both replicas restarted one after the other (kill -9, start, wait until it serves again) under
   * load: a replica that served proxies before loading etcd would hand them an empty route table.
   */
  @Test
  void aRollingRestartOfBothReplicasLosesNoRequestAndNoRoute() throws Exception {
    LocalLab.Options options =
        new LocalLab.Options(1, 2, Duration.ofHours(1), Duration.ofSeconds(60));
    try (ChaosLab lab = ChaosLab.up(dir, options);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");
      RouteWatch routes = new RouteWatch(lab, CLUSTERS, SERVICES);

      long killed = System.nanoTime();
      for (int replica = 0; replica < 2; replica++) {
        lab.kill("controller-" + replica);
        lab.lab.restart("controller-" + replica);
        AdminClient admin = lab.lab.adminClient(lab.lab.replicaAdmin(replica));
        await("controller-" + replica + " back with every cluster")
            .atMost(Duration.ofSeconds(60))
            .until(() -> allConnected(admin));
      }
      long restarted = (System.nanoTime() - killed) / 1_000_000;

      // The restarted replicas still move changes to the proxies.
      Endpoints.setReady(lab, "west", "payments", false);
      awaitLanding(load, "central", Duration.ofSeconds(30));
      List<String> lost = routes.stop();
      List<Load.Result> results = load.stop();

      Figures.print(
          "rolling restart (2 replicas)",
          killed,
          Load.disturbanceMillis(results, killed),
          results,
          "restart_ms=" + restarted + ", route_polls=" + routes.polls());
      assertThat(lost).as("moments a sidecar could not reach a service").isEmpty();
      Figures.assertNoFailures(results, killed);
    }
  }

  @Test
  void withOneReplicaTrafficRunsOnTheLastConfigAndTheModelConvergesAfterRestart() throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        Load load = lab.load("east", "payments", 50)) {
      awaitLanding(load, "west", Duration.ofSeconds(30));
      AdminClient admin = lab.lab.adminClient(lab.lab.replicaAdmin(0));
      RouteWatch routes = new RouteWatch(lab, CLUSTERS, SERVICES);

      long killed = lab.kill("controller-0");
      long before = load.soFar().size();
      await().atMost(Duration.ofSeconds(20)).until(() -> load.soFar().size() > before + 150);
      assertThat(load.lastAnsweredBy(100, "west")).as("traffic runs on the last config").isTrue();

      lab.lab.restart("controller-0");
      await("the model converges").atMost(Duration.ofSeconds(60)).until(() -> allConnected(admin));
      Endpoints.setReady(lab, "west", "payments", false);
      awaitLanding(load, "central", Duration.ofSeconds(60));
      List<String> lost = routes.stop();
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-controller (1 replica)",
          killed,
          Load.disturbanceMillis(results, killed),
          results,
          "route_polls=" + routes.polls());
      assertThat(lost).as("moments a sidecar could not reach a service").isEmpty();
      Figures.assertNoFailures(results, killed);
    }
  }
}
