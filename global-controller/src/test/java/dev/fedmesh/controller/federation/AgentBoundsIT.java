package dev.fedmesh.controller.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.controller.AgentTokens;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.EtcdExtension;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster announces only what is its own: endpoints inside its declared networks, its own gateway
 * addresses. Whoever holds its agent's token cannot point other traffic elsewhere.
 */
class AgentBoundsIT {
  private static final ServiceKey ECHO = ServiceKey.of("default", "echo");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir Path temp;

  private GlobalController controller;
  private ClusterAgent agent;

  @BeforeEach
  void startController() throws Exception {
    Path tokens = temp.resolve("agents.yaml");
    Files.writeString(
        tokens,
        "agents:\n  - {name: east-agent, tokenSha256: "
            + AgentTokens.sha256("east-secret")
            + ", clusters: [east]}\n"
            + "clusters:\n  - {name: east, networks: [10.1.0.0/16], gateways: ['10.1.0.1:15443']}\n");
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .agentTokens(AgentTokens.load(tokens))
                .build());
  }

  @AfterEach
  void stop() {
    if (agent != null) {
      agent.close();
    }
    controller.close();
  }

  @Test
  void anEndpointOutsideTheClustersNetworksIsRefusedAndTheLastStateKept() throws Exception {
    Path endpoints = temp.resolve("east.yaml");
    Files.writeString(endpoints, echo("10.1.0.5"));
    agent = agent(new GatewayAddress("10.1.0.1", 15443), endpoints);
    await("echo at 10.1.0.5")
        .atMost(Duration.ofSeconds(30))
        .until(() -> addresses().equals(List.of("10.1.0.5")));

    Files.writeString(endpoints, echo("10.1.0.5", "10.9.9.9"));
    await("the agent reports the refusal")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                agent.status().findings().stream()
                    .anyMatch(f -> f.kind().equals(Finding.REFUSED_BY_CONTROLLER)));
    Finding finding =
        agent.status().findings().stream()
            .filter(f -> f.kind().equals(Finding.REFUSED_BY_CONTROLLER))
            .findFirst()
            .orElseThrow();
    assertThat(finding.message())
        .isEqualTo(
            "service default/echo: endpoints[1].address: '10.9.9.9' (expected: inside cluster"
                + " east's networks [10.1.0.0/16])");
    assertThat(controller.agents().refusals().get(ClusterName.of("east")))
        .containsExactly(finding.message());
    assertThat(addresses()).as("what the mesh serves").containsExactly("10.1.0.5");
  }

  @Test
  void aGatewayAddressOfAnotherClusterIsRefused() throws Exception {
    Path endpoints = temp.resolve("east.yaml");
    Files.writeString(endpoints, echo("10.1.0.5"));
    agent = agent(new GatewayAddress("10.2.0.1", 15443), endpoints);
    await("the controller refuses the hello")
        .atMost(Duration.ofSeconds(30))
        .until(() -> controller.agents().refusals().containsKey(ClusterName.of("east")));
    assertThat(controller.agents().refusals().get(ClusterName.of("east")).get(0))
        .isEqualTo(
            "hello.gateways[0]: '10.2.0.1:15443' (expected: one of cluster east's declared"
                + " gateways [10.1.0.1:15443])");
    assertThat(controller.mesh().clusters()).doesNotContainKey(ClusterName.of("east"));
    assertThat(agent.federation().isConnected()).isFalse();
  }

  @Test
  void badBoundsInTheFileAreNamed() throws Exception {
    Path tokens = temp.resolve("bad.yaml");
    Files.writeString(
        tokens,
        "agents: []\nclusters:\n  - {name: east, networks: [10.1.0.0], gateways: [gw:15443]}\n");
    assertThatThrownBy(() -> AgentTokens.load(tokens))
        .hasMessageContaining(
            "clusters[0].networks[0]: '10.1.0.0' (expected: an address/prefix such as 10.1.0.0/16)")
        .hasMessageContaining(
            "clusters[0].gateways[0]: 'gw:15443' (expected: address:port, an IP)");
  }

  private ClusterAgent agent(GatewayAddress gateway, Path endpoints) {
    ClusterInfo east =
        new ClusterInfo(
            ClusterName.of("east"),
            "east",
            Locality.of("us-east", "us-east-a"),
            List.of(gateway),
            "fedmesh.local",
            "test");
    return ClusterAgent.builder(east, List.of("127.0.0.1:" + controller.xdsAddress().getPort()))
        .token("east-secret")
        .source(
            executor ->
                new FileEndpointSource(
                    endpoints, east.name(), east.locality(), executor, Duration.ofMillis(50)))
        .start();
  }

  private List<String> addresses() {
    var shards = controller.mesh().services().get(ECHO);
    if (shards == null) {
      return List.of();
    }
    return shards.values().stream()
        .flatMap(shard -> shard.endpoints().stream())
        .map(Endpoint::address)
        .sorted()
        .toList();
  }

  private static String echo(String... addresses) {
    return dev.fedmesh.controller.MeshFixtures.echoEndpointsFile(addresses);
  }
}
