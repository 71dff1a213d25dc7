package dev.fedmesh.controller;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A replica that starts while etcd already holds a mesh serves no proxy until it has published that
 * mesh: a proxy it answered earlier would accept an empty config and route nothing.
 */
class StartupSyncIT {
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";
  private static final Duration SLOW_PUBLISH = Duration.ofSeconds(8);

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void aStartingReplicaRefusesAdsUntilItServesWhatEtcdHolds() throws Exception {
    try (ControllerWithAgent first = ControllerWithAgent.start(etcd.endpoints())) {
      first.announce(Map.of(ECHO, List.of("10.0.0.1", "10.0.0.2")));
      await("the first replica publishes echo")
          .atMost(Duration.ofSeconds(30))
          .until(() -> first.controller().mesh().services().containsKey(ECHO));

      // The second replica publishes its startup listing only after a long quiet period: the
      // window in which a replica without the gate would answer with an empty mesh.
      try (GlobalController second =
          GlobalController.start(
              ControllerConfig.builder(
                      List.of(etcd.endpoints()),
                      new InetSocketAddress("127.0.0.1", 0),
                      new InetSocketAddress("127.0.0.1", 0))
                  .replicaId("late")
                  .debounce(SLOW_PUBLISH, SLOW_PUBLISH)
                  .build())) {
        AdminClient admin = new AdminClient("127.0.0.1:" + second.adminAddress().getPort());
        int port = second.xdsAddress().getPort();
        assertThat(admin.ready()).as("/ready before the listing is published").isFalse();

        AdsTestClient early = new AdsTestClient(port, "early", "east", "us-east", "a");
        try {
          early.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
          await("the early stream is refused")
              .atMost(Duration.ofSeconds(5))
              .until(() -> !early.streamErrors().isEmpty());
          assertThat(second.meshLoaded()).as("still before the first publish").isFalse();
          Status refusal = early.streamErrors().get(0);
          assertThat(refusal.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(refusal.getDescription()).contains("has not loaded the mesh from etcd");

          await("the second replica is ready")
              .atMost(SLOW_PUBLISH.plusSeconds(20))
              .until(admin::ready);
          assertThat(second.meshLoaded()).isTrue();
          Set<String> echo = Set.of("10.0.0.1:8080", "10.0.0.2:8080");
          // The refused proxy retries as Envoy would, and its very first config is complete.
          await("the early proxy, reconnected, gets echo")
              .atMost(Duration.ofSeconds(10))
              .until(() -> early.currentEndpoints().equals(echo));
          assertThat(AdsTestClient.endpointHistory(early.responses(AdsTestClient.EDS)))
              .as("every EDS response the new replica sent")
              .allMatch(echo::equals);
        } finally {
          early.close();
        }
      }
    }
  }
}
