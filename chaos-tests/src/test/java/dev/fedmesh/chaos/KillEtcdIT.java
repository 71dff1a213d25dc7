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
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 3: etcd dies (whole, or one member of three); traffic does not notice, nothing is lost. */
class KillEtcdIT {
  @TempDir Path dir;

  private static Map<String, Integer> endpointsByCluster(AdminClient admin) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    JsonNode status = admin.status();
    for (JsonNode cluster : status.path("clusters")) {
      counts.put(cluster.path("name").asText(), cluster.path("endpoints").asInt());
    }
    return counts;
  }

  @Test
  void killingTheOnlyMemberLeavesTrafficAloneAndAfterRecoveryNoEndpointIsMissing()
      throws Exception {
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");
      AdminClient admin = lab.lab.adminClient(lab.lab.replicaAdmin(0));
      Map<String, Integer> before = endpointsByCluster(admin);

      long killed = lab.kill("etcd");
      long sent = load.soFar().size();
      await().atMost(Duration.ofSeconds(20)).until(() -> load.soFar().size() > sent + 150);
      assertThat(load.lastAnsweredBy(100, "west")).isTrue();

      lab.lab.restart("etcd");
      await("every endpoint back in the model")
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(endpointsByCluster(admin)).isEqualTo(before));
      // The proxies' view: both regions that serve payments are still in east's EDS.
      String clusters = ChaosLab.get(lab.loadgenAdmin("east") + "/clusters");
      assertThat(clusters)
          .contains(
              "outbound|8080||payments.shop.svc.cluster.local::127.2.0.1:15443::health_flags::healthy");
      assertThat(clusters)
          .contains(
              "outbound|8080||payments.shop.svc.cluster.local::127.3.0.1:15443::health_flags::healthy");
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-etcd (1 member)",
          killed,
          Load.disturbanceMillis(results, killed),
          results,
          "endpoints=" + before);
      Figures.assertNoFailures(results, killed);
    }
  }

  @Test
  void losingOneMemberOfThreeKeepsTheControlPlaneWorking() throws Exception {
    LocalLab.Options options =
        new LocalLab.Options(3, 1, Duration.ofHours(1), Duration.ofSeconds(60));
    try (ChaosLab lab = ChaosLab.up(dir, options);
        Load load = lab.load("east", "payments", 50)) {
      awaitLanding(load, "west", Duration.ofSeconds(30));

      long killed = lab.kill("etcd-1");
      // The store still takes writes with two of three: a change still reaches the proxies.
      Endpoints.setReady(lab, "west", "payments", false);
      awaitLanding(load, "central", Duration.ofSeconds(30));
      List<Load.Result> results = load.stop();

      Figures.print(
          "kill-etcd (1 of 3 members)",
          killed,
          Load.disturbanceMillis(results, killed),
          results,
          "");
      Figures.assertNoFailures(results, killed);
    }
  }
}
