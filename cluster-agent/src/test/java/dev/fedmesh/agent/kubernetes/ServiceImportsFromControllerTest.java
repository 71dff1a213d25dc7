package dev.fedmesh.agent.kubernetes;

import static dev.fedmesh.agent.kubernetes.ClusterObjects.namespace;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.federation.FederationClient;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ServicePort;
import dev.fedmesh.federation.v1.Welcome;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * From the controller's stream to the API server: import sets a controller sends (in-process gRPC)
 * reach the agent's reconciler through its federation client and become ServiceImports in the
 * cluster (fabric8's mock API server in CRUD mode).
 */
@EnableKubernetesMockClient(crud = true)
class ServiceImportsFromControllerTest {
  private static final ClusterInfo EAST =
      new ClusterInfo(
          ClusterName.of("east"),
          "east",
          Locality.of("us-east", "us-east-a"),
          List.of(),
          "fedmesh.local",
          "test");

  KubernetesClient client;

  private final ImportingController controller = new ImportingController();
  private Server server;
  private ManagedChannel channel;
  private ScheduledExecutorService agentExecutor;
  private ScheduledExecutorService importsExecutor;
  private ServiceImports imports;
  private FederationClient federation;

  @BeforeEach
  void setUp() throws IOException {
    client.namespaces().resource(namespace("shop", Map.of())).create();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(controller).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    agentExecutor = Executors.newSingleThreadScheduledExecutor();
    importsExecutor = Executors.newSingleThreadScheduledExecutor();
    imports =
        new ServiceImports(
            client,
            EAST.name(),
            importsExecutor,
            System::nanoTime,
            new SplittableRandom(7),
            new ServiceImports.Settings(
                Duration.ofMillis(10),
                Duration.ofMillis(100),
                Duration.ofHours(1),
                Duration.ofMillis(10),
                Duration.ofMillis(100)));
    federation =
        new FederationClient(
            List.of(channel),
            EAST,
            agentExecutor,
            new Backoff(Duration.ofMillis(1), Duration.ofMillis(10), new SplittableRandom(7)),
            Duration.ofHours(1),
            imports);
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    federation.close();
    imports.close();
    for (ScheduledExecutorService executor : List.of(agentExecutor, importsExecutor)) {
      executor.shutdown();
      assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    channel.shutdownNow();
    server.shutdownNow();
    assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void theControllersImportSetsBecomeTheClustersServiceImports() {
    controller.imports(imported("echo", "10.96.0.20", "west"), imported("web", "bad-ip", "west"));

    federation.update(Map.of());

    eventually().until(() -> serviceImport("echo") != null);
    assertThat(serviceImport("echo").getAdditionalProperties().get("spec"))
        .isEqualTo(
            Map.of(
                "type",
                "ClusterSetIP",
                "ips",
                List.of("10.96.0.20"),
                "ports",
                List.of(
                    Map.of(
                        "name", "http", "port", 8080, "protocol", "TCP", "appProtocol", "http"))));
    assertThat(serviceImport("web")).as("an invalid entry is skipped").isNull();
    eventually()
        .until(
            () ->
                imports.findings().stream()
                    .anyMatch(
                        f ->
                            f.kind().equals(Finding.IMPORT_INVALID)
                                && f.message().contains("imports.services[1].ips[0]: 'bad-ip'")));

    controller.imports(imported("web", "10.96.0.21", "central", "west"));

    eventually().until(() -> serviceImport("echo") == null && serviceImport("web") != null);
    assertThat(serviceImport("web").getAdditionalProperties().get("status"))
        .isEqualTo(
            Map.of("clusters", List.of(Map.of("cluster", "central"), Map.of("cluster", "west"))));
    eventually().until(() -> imports.findings().isEmpty());
  }

  private GenericKubernetesResource serviceImport(String name) {
    return client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .inNamespace("shop")
        .withName(name)
        .get();
  }

  private static ImportedService imported(String name, String ip, String... clusters) {
    return ImportedService.newBuilder()
        .setNamespace("shop")
        .setName(name)
        .addPorts(ServicePort.newBuilder().setName("http").setPort(8080).setProtocol(Protocol.HTTP))
        .addAllClusters(List.of(clusters))
        .addIps(ip)
        .build();
  }

  private static org.awaitility.core.ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10));
  }

  /**
   * A controller replica as the agent sees it: welcomes, acknowledges everything, and sends its
   * current import set after Welcome and again whenever it changes.
   */
  private static final class ImportingController extends FederationGrpc.FederationImplBase {
    private dev.fedmesh.federation.v1.ServiceImports current =
        dev.fedmesh.federation.v1.ServiceImports.getDefaultInstance();
    private StreamObserver<ControllerMessage> stream;

    synchronized void imports(ImportedService... services) {
      current =
          dev.fedmesh.federation.v1.ServiceImports.newBuilder()
              .addAllServices(List.of(services))
              .build();
      if (stream != null) {
        stream.onNext(ControllerMessage.newBuilder().setImports(current).build());
      }
    }

    @Override
    public StreamObserver<AgentMessage> sync(StreamObserver<ControllerMessage> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(AgentMessage message) {
          synchronized (ImportingController.this) {
            if (message.hasHello()) {
              responses.onNext(
                  ControllerMessage.newBuilder()
                      .setWelcome(Welcome.newBuilder().setControllerReplica("replica-a"))
                      .build());
              responses.onNext(ControllerMessage.newBuilder().setImports(current).build());
              stream = responses;
            }
            responses.onNext(
                ControllerMessage.newBuilder()
                    .setAck(Ack.newBuilder().setGeneration(message.getGeneration()))
                    .build());
          }
        }

        @Override
        public void onError(Throwable error) {}

        @Override
        public void onCompleted() {
          synchronized (ImportingController.this) {
            stream = null;
            responses.onCompleted();
          }
        }
      };
    }
  }
}
