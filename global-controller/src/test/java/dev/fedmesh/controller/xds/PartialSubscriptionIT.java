package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerWithAgent;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A proxy that asks for endpoints of several services, some of which do not exist yet, is answered
 * once they all exist (java-control-plane alone would drop such a request).
 */
class PartialSubscriptionIT {
  private static final ServiceKey LATER = ServiceKey.of("default", "later");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void aRequestForSomeMissingNamesIsAnsweredWhenTheyAppear() throws Exception {
    try (ControllerWithAgent mesh = ControllerWithAgent.start(etcd.endpoints());
        AdsTestClient proxy =
            new AdsTestClient(mesh.xdsPort(), "partial", "east", "us-east", "us-east-a")) {
      mesh.announce(Map.of(ECHO, List.of("10.0.0.1")));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> mesh.controller().mesh().services().containsKey(ECHO));

      proxy.subscribe(
          AdsTestClient.EDS,
          List.of(
              "outbound|7070||echo.default.svc.cluster.local",
              "outbound|7070||later.default.svc.cluster.local"));
      mesh.announce(Map.of(ECHO, List.of("10.0.0.1"), LATER, List.of("10.0.0.2")));

      await("both services' endpoints arrive")
          .atMost(Duration.ofSeconds(20))
          .until(() -> proxy.currentEndpoints().equals(Set.of("10.0.0.1:8080", "10.0.0.2:8080")));
      await("the change's convergence is measured once the proxy ACKs it")
          .atMost(Duration.ofSeconds(10))
          .until(() -> convergences(mesh) >= 1);
    }
  }

  private static double convergences(ControllerWithAgent mesh) throws java.io.IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    mesh.controller().metrics().write(out);
    return out.toString(java.nio.charset.StandardCharsets.UTF_8)
        .lines()
        .filter(line -> line.startsWith("fedmesh_convergence_seconds_count"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }
}
