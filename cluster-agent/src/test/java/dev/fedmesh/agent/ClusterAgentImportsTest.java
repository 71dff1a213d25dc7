package dev.fedmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.kubernetes.ServiceImports;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ServicePort;
import dev.fedmesh.federation.v1.Welcome;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An agent built with {@code serviceImports(client)} keeps its cluster's ServiceImports as its
 * controller says, and shows what it could not import among its findings and metrics.
 */
@EnableKubernetesMockClient(crud = true)
class ClusterAgentImportsTest {
  private static final ClusterInfo EAST =
      new ClusterInfo(
          ClusterName.of("east"),
          "east",
          Locality.of("us-east", "us-east-a"),
          List.of(),
          "fedmesh.local",
          "test");

  KubernetesClient client;

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
  void theControllersImportsBecomeServiceImportsAndWhatCannotBeImportedIsAFinding()
      throws IOException {
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName("shop").endMetadata().build())
        .create();
    controller =
        startController(
            dev.fedmesh.federation.v1.ServiceImports.newBuilder()
                .addServices(imported("shop", "echo"))
                .addServices(imported("ghost", "web"))
                .build());
    agent =
        ClusterAgent.builder(EAST, List.of("127.0.0.1:" + controller.getPort()))
            .source(executor -> new StaticSource())
            .serviceImports(
                client,
                new ServiceImports.Settings(
                    Duration.ofMillis(10),
                    Duration.ofMillis(100),
                    Duration.ofHours(1),
                    Duration.ofMillis(10),
                    Duration.ofMillis(100)))
            .start();

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                client
                        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
                        .inNamespace("shop")
                        .withName("echo")
                        .get()
                    != null);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                agent.status().findings().stream()
                    .anyMatch(
                        f ->
                            f.kind().equals(Finding.IMPORT_NAMESPACE_MISSING)
                                && f.namespace().equals("ghost")
                                && f.name().equals("web")));
    ByteArrayOutputStream metrics = new ByteArrayOutputStream();
    agent.metrics().write(metrics);
    assertThat(metrics.toString(StandardCharsets.UTF_8))
        .contains("fedmesh_agent_imported_services 2.0")
        .contains("fedmesh_agent_findings 1.0");
  }

  private static ImportedService imported(String namespace, String name) {
    return ImportedService.newBuilder()
        .setNamespace(namespace)
        .setName(name)
        .addPorts(ServicePort.newBuilder().setName("grpc").setPort(7070).setProtocol(Protocol.GRPC))
        .addClusters("west")
        .addIps("240.240.0.9")
        .setVirtualAddress("240.240.0.9")
        .build();
  }

  /** Welcomes every agent, sends it {@code imports}, and acknowledges everything. */
  private static Server startController(dev.fedmesh.federation.v1.ServiceImports imports)
      throws IOException {
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
                              .setWelcome(Welcome.newBuilder().setControllerReplica("replica-a"))
                              .build());
                      responses.onNext(ControllerMessage.newBuilder().setImports(imports).build());
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

  /** A cluster with no services of its own. */
  private static final class StaticSource implements EndpointSource {
    @Override
    public void start(Listener listener) {
      listener.onServices(Map.of());
    }

    @Override
    public void close() {}
  }
}
