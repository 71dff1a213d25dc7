package dev.fedmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.testkit.FreePorts;
import dev.fedmesh.testkit.JavaProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two active-active controller replicas as real processes: {@code kill -9} of the one the agent
 * uses moves the agent to the other, and proxies of the survivor never lose an endpoint.
 */
class ReplicaFailoverIT {
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir Path temp;

  private JavaProcess replicaA;
  private JavaProcess replicaB;
  private ClusterAgent agent;
  private AdsTestClient proxy;

  @AfterEach
  void stopEverything() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    if (agent != null) {
      agent.close();
    }
    for (JavaProcess replica : new JavaProcess[] {replicaA, replicaB}) {
      if (replica != null) {
        replica.close();
      }
    }
  }

  @Test
  void killingTheAgentsReplicaMovesItAndProxiesKeepEveryEndpoint() throws Exception {
    int xdsA = FreePorts.next();
    int xdsB = FreePorts.next();
    replicaA = startReplica("a", xdsA);
    replicaB = startReplica("b", xdsB);

    Path endpoints = temp.resolve("endpoints.yaml");
    Files.writeString(endpoints, echo("10.0.0.1", "10.0.0.2", "10.0.0.3"));
    ClusterInfo east =
        new ClusterInfo(
            ClusterName.of("east"),
            "east",
            Locality.of("us-east", "us-east-a"),
            List.of(),
            "fedmesh.local",
            "test");
    agent =
        ClusterAgent.start(
            east,
            List.of("127.0.0.1:" + xdsA, "127.0.0.1:" + xdsB),
            executor ->
                new FileEndpointSource(
                    endpoints, east.name(), east.locality(), executor, Duration.ofMillis(50)));
    proxy = new AdsTestClient(xdsB, "proxy-on-b", "east", "us-east", "us-east-a");
    proxy.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
    Set<String> original = Set.of("10.0.0.1:7070", "10.0.0.2:7070", "10.0.0.3:7070");
    await("proxy on replica b sees the agent's endpoints")
        .atMost(Duration.ofSeconds(30))
        .until(() -> proxy.currentEndpoints().equals(original));
    assertThat(agent.federation().controllerReplica()).isEqualTo("a");

    long killedAt = System.nanoTime();
    replicaA.kill();

    await("the agent moves to replica b")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                agent.federation().controllerReplica().equals("b")
                    && agent.federation().isInSync());
    System.out.printf(
        "agent moved to the surviving replica in %d ms%n",
        (System.nanoTime() - killedAt) / 1_000_000);
    Files.writeString(endpoints, echo("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"));
    await("a change made through replica b reaches its proxies")
        .atMost(Duration.ofSeconds(30))
        .until(() -> proxy.currentEndpoints().contains("10.0.0.4:7070"));

    assertThat(AdsTestClient.endpointHistory(proxy.responses(AdsTestClient.EDS)))
        .as("every EDS response replica b sent")
        .allMatch(sent -> sent.isEmpty() || sent.containsAll(original));
  }

  private JavaProcess startReplica(String name, int xdsPort) {
    int adminPort = FreePorts.next();
    JavaProcess replica =
        JavaProcess.start(
            "controller-" + name,
            temp.resolve("logs"),
            "dev.fedmesh.controller.ControllerMain",
            List.of(
                "--etcd",
                etcd.endpoints(),
                "--insecure-any-agent",
                "--insecure-xds-address",
                "127.0.0.1:" + xdsPort,
                "--admin-address",
                "127.0.0.1:" + adminPort,
                "--replica-id",
                name));
    AdminClient admin = new AdminClient("127.0.0.1:" + adminPort);
    await("replica " + name + " ready")
        .atMost(Duration.ofSeconds(60))
        .failFast("replica " + name + " exited:\n" + replica.logTail(), () -> !replica.isAlive())
        .until(admin::ready);
    return replica;
  }

  private static String echo(String... addresses) {
    return MeshFixtures.echoEndpointsFile(addresses);
  }
}
