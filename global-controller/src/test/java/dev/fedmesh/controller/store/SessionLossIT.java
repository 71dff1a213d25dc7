package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerWithAgent;
import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.testkit.TcpRelay;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd away for longer than a cluster's session TTL: the lease expires and the session key with it.
 * The controller must end the agent's stream so the agent claims a new session, or a healthy
 * cluster would drift to demoted and then expired while its agent believes all is well.
 */
class SessionLossIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void anAgentWhoseSessionLapsedWhileEtcdWasAwayIsConnectedAgainAfter() throws Exception {
    URI etcdUri = URI.create(etcd.endpoints());
    try (TcpRelay relay =
            TcpRelay.start(new InetSocketAddress(etcdUri.getHost(), etcdUri.getPort()));
        ControllerWithAgent mesh =
            ControllerWithAgent.start(
                "http://127.0.0.1:" + relay.port(),
                config -> config.sessionTtl(Duration.ofSeconds(2)))) {
      mesh.announce(Map.of(ECHO, List.of("10.0.0.1")));
      await("east connected").atMost(Duration.ofSeconds(20)).until(() -> connected(mesh));

      relay.cut();
      // Longer than the TTL: etcd expires the lease and deletes the session key.
      await("the agent's stream ended")
          .atMost(Duration.ofSeconds(30))
          .until(() -> !mesh.agent().federation().isConnected());
      relay.restore();

      await("east connected again, with its endpoints")
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  connected(mesh)
                      && mesh.controller().mesh().endpointCount(ControllerWithAgent.EAST) == 1);
    }
  }

  private static boolean connected(ControllerWithAgent mesh) {
    ClusterState east = mesh.controller().mesh().clusters().get(ControllerWithAgent.EAST);
    return east != null && east.connected();
  }
}
