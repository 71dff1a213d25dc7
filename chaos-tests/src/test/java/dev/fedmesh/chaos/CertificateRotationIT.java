package dev.fedmesh.chaos;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chaos 6: certificates with a short life rotate while cross-cluster mTLS traffic flows. */
class CertificateRotationIT {
  @TempDir Path dir;

  private static long issued(ChaosLab lab, String cluster, String workload) throws Exception {
    for (JsonNode proxy : lab.clusterStatus(cluster).path("proxies")) {
      if (proxy.path("workload").asText().equals(workload)) {
        return proxy.path("certificatesIssued").asLong();
      }
    }
    throw new IllegalStateException(workload + " not in " + cluster);
  }

  @Test
  void rotationUnderLoadFailsNoRequest() throws Exception {
    LocalLab.Options options =
        new LocalLab.Options(1, 1, Duration.ofSeconds(6), Duration.ofSeconds(60));
    try (ChaosLab lab = ChaosLab.up(dir, options);
        Load load = lab.load("east", "payments", 50)) {
      ChaosLab.awaitSteady(load, "west");
      long start = System.nanoTime();
      long client = issued(lab, "east", "loadgen/v1");
      long server = issued(lab, "west", "payments/v1");

      // Renewed at half life (~3 s): three renewals on both ends of the call.
      await("three rotations on each side")
          .atMost(Duration.ofSeconds(40))
          .until(
              () ->
                  issued(lab, "east", "loadgen/v1") >= client + 3
                      && issued(lab, "west", "payments/v1") >= server + 3);
      List<Load.Result> results = load.stop();

      Figures.print(
          "certificate rotation (6 s TTL)",
          start,
          Load.disturbanceMillis(results, start),
          results,
          "rotations_client="
              + (issued(lab, "east", "loadgen/v1") - client)
              + ", rotations_server="
              + (issued(lab, "west", "payments/v1") - server));
      Figures.assertNoFailures(results, start);
    }
  }
}
