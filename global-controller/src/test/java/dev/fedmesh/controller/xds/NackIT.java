package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerWithAgent;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A proxy that rejects a config: the rejection is recorded with its reason and not resent. */
class NackIT {
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void aRejectedVersionIsRecordedAndNotResentUntilTheConfigChanges() throws Exception {
    try (ControllerWithAgent mesh = ControllerWithAgent.start(etcd.endpoints());
        AdsTestClient proxy =
            new AdsTestClient(mesh.xdsPort(), "proxy-nack", "east", "us-east", "us-east-a")) {
      GlobalController controller = mesh.controller();
      proxy.rejectWhen(response -> AdsTestClient.endpoints(response).contains("10.0.0.66:8080"));
      proxy.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
      mesh.announce(Map.of(ECHO, List.of("10.0.0.1")));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> proxy.currentEndpoints().contains("10.0.0.1:8080"));
      await().atMost(Duration.ofSeconds(5)).until(() -> state(controller).equals("SYNCED"));

      mesh.announce(Map.of(ECHO, List.of("10.0.0.1", "10.0.0.66")));

      await("the rejection is recorded")
          .atMost(Duration.ofSeconds(20))
          .until(() -> state(controller).equals("NACKED"));
      ProxyStatus.TypeStatus status =
          controller.xds().proxies().get("proxy-nack").types().get(AdsTestClient.EDS);
      assertThat(status.nackError()).startsWith("test rejects version ");
      assertThat(status.ackedVersion()).isNotEqualTo(status.nackedVersion());
      int responses = proxy.responses(AdsTestClient.EDS).size();
      await("the rejected version is not sent again")
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(3))
          .until(() -> proxy.responses(AdsTestClient.EDS).size() == responses);

      mesh.announce(Map.of(ECHO, List.of("10.0.0.1", "10.0.0.2")));

      await("a changed config is sent and accepted")
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  proxy.currentEndpoints().contains("10.0.0.2:8080")
                      && state(controller).equals("SYNCED"));
    }
  }

  private static String state(GlobalController controller) {
    ProxyStatus status = controller.xds().proxies().get("proxy-nack");
    if (status == null || !status.types().containsKey(AdsTestClient.EDS)) {
      return "NOT SENT";
    }
    return status.types().get(AdsTestClient.EDS).state();
  }
}
