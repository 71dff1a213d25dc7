package dev.fedmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Welcome;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's own port, as a kubelet probe, a Prometheus scrape and {@code fedmesh analyze} see it.
 */
class ClusterAgentStatusTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ClusterInfo EAST =
      new ClusterInfo(
          ClusterName.of("east"),
          "east",
          Locality.of("us-east", "us-east-a"),
          List.of(),
          "fedmesh.local",
          "test");
  private static final ServiceKey ECHO = ServiceKey.of("default", "echo");
  private static final Finding UNNAMED_PORT =
      new Finding(
          Finding.PORT_PROTOCOL_UNKNOWN, "default", "legacy", 8080, "port 8080 has no name");

  private Server controller;
  private ClusterAgent agent;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (agent != null) {
      agent.close();
    }
    if (controller != null) {
      controller.shutdownNow();
      assertThat(controller.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void readyOnlyWhileTheControllerHoldsTheAgentsState() throws Exception {
    controller = startController();
    ManualSource source = new ManualSource();
    agent = startAgent(source);

    assertThat(get("/healthz").status()).isEqualTo(200);
    assertThat(get("/ready")).isEqualTo(new Reply(503, "not connected\n"));

    source.deliver(Map.of(ECHO, echo("10.0.0.1", "10.0.0.2")));

    await().atMost(Duration.ofSeconds(10)).until(() -> get("/ready").status() == 200);

    controller.shutdownNow();
    assertThat(controller.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

    await().atMost(Duration.ofSeconds(10)).until(() -> get("/ready").status() == 503);
  }

  @Test
  void statusListsCountsAndFindingsAsJson() throws Exception {
    controller = startController();
    ManualSource source = new ManualSource();
    source.findings = List.of(UNNAMED_PORT);
    agent = startAgent(source);
    source.deliver(Map.of(ECHO, echo("10.0.0.1", "10.0.0.2")));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.status().ready());

    Reply reply = get("/status");

    assertThat(reply.status()).isEqualTo(200);
    JsonNode status = JSON.readTree(reply.body());
    assertThat(status.path("cluster").asText()).isEqualTo("east");
    assertThat(status.path("connected").asBoolean()).isTrue();
    assertThat(status.path("inSync").asBoolean()).isTrue();
    assertThat(status.path("controllerReplica").asText()).isEqualTo("fake-replica");
    assertThat(status.path("services").asInt()).isEqualTo(1);
    assertThat(status.path("endpoints").asInt()).isEqualTo(2);
    assertThat(JSON.treeToValue(status.path("findings"), Finding[].class))
        .containsExactly(UNNAMED_PORT);
  }

  @Test
  void metricsAreInPrometheusTextFormat() throws Exception {
    controller = startController();
    ManualSource source = new ManualSource();
    source.findings = List.of(UNNAMED_PORT);
    agent = startAgent(source);
    source.deliver(Map.of(ECHO, echo("10.0.0.1", "10.0.0.2")));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.status().ready());

    String metrics = get("/metrics").body();

    assertThat(metrics)
        .contains("fedmesh_agent_controller_connected 1.0")
        .contains("fedmesh_agent_in_sync 1.0")
        .contains("fedmesh_agent_services 1.0")
        .contains("fedmesh_agent_endpoints 2.0")
        .contains("fedmesh_agent_findings 1.0")
        .contains("fedmesh_agent_source_updates_total 1.0");
  }

  private ClusterAgent startAgent(ManualSource source) {
    return ClusterAgent.builder(EAST, List.of("127.0.0.1:" + controller.getPort()))
        .source(executor -> source)
        .statusAddress(new InetSocketAddress("127.0.0.1", 0))
        .start();
  }

  private record Reply(int status, String body) {}

  private Reply get(String path) throws IOException {
    int port = agent.statusAddress().orElseThrow().getPort();
    HttpURLConnection connection =
        (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
    try {
      int status = connection.getResponseCode();
      try (InputStream in =
          status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
        return new Reply(status, new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    } finally {
      connection.disconnect();
    }
  }

  private static ServiceEndpoints echo(String... addresses) {
    return new ServiceEndpoints(
        EAST.name(),
        ECHO,
        List.of(new ServicePort("grpc", 7070, Protocol.GRPC)),
        false,
        java.util.Arrays.stream(addresses)
            .map(address -> Endpoint.of(address, Map.of(), EAST.locality()))
            .toList());
  }

  /** A controller that welcomes every agent and stores (acknowledges) everything at once. */
  private static Server startController() throws IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(
            new FederationGrpc.FederationImplBase() {
              @Override
              public StreamObserver<AgentMessage> sync(
                  StreamObserver<ControllerMessage> responses) {
                return new StreamObserver<>() {
                  @Override
                  public void onNext(AgentMessage message) {
                    if (message.hasHello()) {
                      responses.onNext(
                          ControllerMessage.newBuilder()
                              .setWelcome(Welcome.newBuilder().setControllerReplica("fake-replica"))
                              .build());
                    }
                    responses.onNext(
                        ControllerMessage.newBuilder()
                            .setAck(Ack.newBuilder().setGeneration(message.getGeneration()))
                            .build());
                  }

                  @Override
                  public void onError(Throwable error) {}

                  @Override
                  public void onCompleted() {
                    responses.onCompleted();
                  }
                };
              }
            })
        .build()
        .start();
  }

  /** A source the test drives by hand. */
  private static final class ManualSource implements EndpointSource {
    private volatile Listener listener;
    volatile List<Finding> findings = List.of();

    @Override
    public void start(Listener listener) {
      this.listener = listener;
    }

    void deliver(Map<ServiceKey, ServiceEndpoints> services) {
      listener.onServices(services);
    }

    @Override
    public List<Finding> findings() {
      return findings;
    }

    @Override
    public void close() {}
  }
}
