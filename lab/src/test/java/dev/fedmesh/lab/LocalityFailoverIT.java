package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import dev.fedmesh.testkit.EchoServer;
import dev.fedmesh.testkit.EtcdExtension;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Locality-aware routing as grpc-java's own xDS client (which implements Envoy's priority and
 * locality load balancing) applies it: local zone first, then the local region, then other regions
 * in the configured failover order.
 */
class LocalityFailoverIT {
  private static final String TARGET = "xds:///echo.default.svc.cluster.local:7070";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir Path temp;

  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void stopEverything() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  void trafficStaysInTheZoneThenTheRegionThenFollowsTheFailoverOrder() throws Exception {
    // Callers in us-east fail over to eu-central before us-west: not the alphabetical or
    // default order, so only the configured order can explain where traffic lands.
    GlobalController controller =
        track(
            GlobalController.start(
                ControllerConfig.builder(
                        List.of(etcd.endpoints()),
                        new InetSocketAddress("127.0.0.1", 0),
                        new InetSocketAddress("127.0.0.1", 0))
                    .failover(
                        new FailoverOrder(Map.of("us-east", List.of("eu-central", "us-west"))))
                    .build()));
    EchoServer zoneA = track(EchoServer.start("us-east-a", "127.0.0.1"));
    EchoServer zoneB = track(EchoServer.start("us-east-b", "127.0.0.1"));
    EchoServer central = track(EchoServer.start("eu-central", "127.0.0.1"));
    EchoServer west = track(EchoServer.start("us-west", "127.0.0.1"));
    Path endpoints = temp.resolve("endpoints.yaml");
    Files.writeString(
        endpoints,
        "services:\n"
            + "  - name: echo\n"
            + "    ports: [{name: grpc, port: 7070, protocol: grpc}]\n"
            + "    endpoints:\n"
            + endpoint(zoneA, "us-east", "us-east-a")
            + endpoint(zoneB, "us-east", "us-east-b")
            + endpoint(central, "eu-central", "eu-central-a")
            + endpoint(west, "us-west", "us-west-a"));
    ClusterInfo mesh =
        new ClusterInfo(
            ClusterName.of("flat"),
            "flat",
            Locality.of("us-east", "us-east-a"),
            List.of(),
            "fedmesh.local",
            "test");
    track(
        ClusterAgent.start(
            mesh,
            List.of("127.0.0.1:" + controller.xdsAddress().getPort()),
            executor ->
                new FileEndpointSource(
                    endpoints, mesh.name(), mesh.locality(), executor, Duration.ofMillis(50))));
    ManagedChannel channel =
        XdsClients.channel(
            TARGET, controller.xdsAddress().getPort(), "caller", "us-east", "us-east-a");
    resources.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));

    awaitAllCallsLandOn(channel, "us-east-a");

    zoneA.close();
    awaitAllCallsLandOn(channel, "us-east-b");

    zoneB.close();
    awaitAllCallsLandOn(channel, "eu-central");

    central.close();
    awaitAllCallsLandOn(channel, "us-west");
  }

  private static void awaitAllCallsLandOn(ManagedChannel channel, String server) {
    await("20 calls in a row answered by " + server)
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () -> {
              Set<String> answered = new HashSet<>();
              for (int i = 0; i < 20; i++) {
                answered.add(EchoServer.whoAnswers(channel, "call " + i));
              }
              return answered.equals(Set.of(server));
            });
    Set<String> answered = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      answered.add(EchoServer.whoAnswers(channel, "check " + i));
    }
    assertThat(answered).containsExactly(server);
  }

  private static String endpoint(EchoServer server, String region, String zone) {
    return "      - {address: 127.0.0.1, ports: {grpc: "
        + server.port()
        + "}, region: "
        + region
        + ", zone: "
        + zone
        + ", pod: "
        + server.name()
        + "}\n";
  }

  private <T extends AutoCloseable> T track(T resource) {
    resources.add(resource);
    return resource;
  }
}
