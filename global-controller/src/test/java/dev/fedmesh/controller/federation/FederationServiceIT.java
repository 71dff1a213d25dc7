package dev.fedmesh.controller.federation;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.Endpoint;
import dev.fedmesh.federation.v1.EndpointPort;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.InitialSyncComplete;
import dev.fedmesh.federation.v1.Locality;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ProtocolVersion;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.federation.v1.ServicePort;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.testkit.EtcdExtension;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The controller's side of the federation protocol, against real etcd, driven message by message.
 */
class FederationServiceIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  private static GlobalController controller;
  private static ManagedChannel channel;
  private static Client client;

  @BeforeAll
  static void startController() {
    controller =
        GlobalController.start(
            ControllerConfig.of(
                List.of(etcd.endpoints()),
                new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0)));
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsAddress().getPort())
            .usePlaintext()
            .build();
    client = Client.builder().endpoints(etcd.endpoints()).build();
  }

  @AfterAll
  static void stopController() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    client.close();
    controller.close();
  }

  @BeforeEach
  void emptyStore() throws Exception {
    ByteSequence root = ByteSequence.from("/fedmesh/", UTF_8);
    client
        .getKVClient()
        .delete(root, DeleteOption.builder().isPrefix(true).build())
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void anInvalidServiceIsRefusedFieldByFieldAndNothingOfItIsStored() throws Exception {
    AgentStream agent = new AgentStream();
    agent.send(hello("east"));
    assertThat(agent.next().hasWelcome()).isTrue();
    assertThat(agent.next().getAck().getGeneration()).isEqualTo(1);

    ServiceState invalid =
        service("echo", "not-an-ip").toBuilder()
            .setPorts(0, ServicePort.newBuilder().setName("grpc").setPort(70000))
            .build();
    agent.send(AgentMessage.newBuilder().setService(invalid));
    ControllerMessage refusal = agent.next();
    agent.send(AgentMessage.newBuilder().setService(service("other", "10.0.0.2")));
    ControllerMessage ack = agent.next();

    assertThat(refusal.getRefusal().getGeneration()).isEqualTo(2);
    assertThat(refusal.getRefusal().getFatal()).isFalse();
    assertThat(refusal.getRefusal().getReason())
        .contains("service.ports[0].port: 70000 (expected: 1..65535)")
        .contains("service.endpoints[0].address: 'not-an-ip' (expected: an IPv4 or IPv6 address)");
    assertThat(ack.getAck().getGeneration()).isEqualTo(3);
    assertThat(keys("/fedmesh/v1/endpoints/"))
        .containsExactly("/fedmesh/v1/endpoints/east/default/other");
    agent.close();
  }

  @Test
  void theFirstMessageMustBeHello() throws Exception {
    AgentStream agent = new AgentStream();
    agent.send(AgentMessage.newBuilder().setService(service("echo", "10.0.0.1")));

    ControllerMessage refusal = agent.next();

    assertThat(refusal.getRefusal().getFatal()).isTrue();
    assertThat(refusal.getRefusal().getReason()).contains("expected: hello as the first message");
    assertThat(agent.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(keys("/fedmesh/v1/")).isEmpty();
  }

  @Test
  void anUnknownProtocolVersionIsRefused() throws Exception {
    AgentStream agent = new AgentStream();
    agent.send(
        AgentMessage.newBuilder()
            .setHello(hello("east").getHello().toBuilder().setProtocolVersionValue(7)));

    ControllerMessage refusal = agent.next();

    assertThat(refusal.getRefusal().getReason())
        .contains("hello.protocol_version: 7 (expected: 1)");
    assertThat(agent.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(keys("/fedmesh/v1/")).isEmpty();
  }

  @Test
  void aReconnectedAgentsServicesThatWereNotReannouncedAreSwept() throws Exception {
    AgentStream first = new AgentStream();
    first.send(hello("west"));
    first.send(AgentMessage.newBuilder().setService(service("echo", "10.0.0.1")));
    first.send(AgentMessage.newBuilder().setService(service("gone", "10.0.0.2")));
    first.send(
        AgentMessage.newBuilder().setInitialSyncComplete(InitialSyncComplete.getDefaultInstance()));
    first.awaitAck(4);
    first.close();

    AgentStream second = new AgentStream();
    second.send(hello("west"));
    second.send(AgentMessage.newBuilder().setService(service("echo", "10.0.0.1")));
    second.send(
        AgentMessage.newBuilder().setInitialSyncComplete(InitialSyncComplete.getDefaultInstance()));
    second.awaitAck(3);

    assertThat(keys("/fedmesh/v1/endpoints/"))
        .containsExactly("/fedmesh/v1/endpoints/west/default/echo");
    second.close();
  }

  @Test
  void aNewSessionForTheClusterFencesTheOldStream() throws Exception {
    AgentStream old = new AgentStream();
    old.send(hello("central"));
    old.awaitAck(1);
    AgentStream replacement = new AgentStream();
    replacement.send(hello("central"));
    replacement.awaitAck(1);

    old.send(AgentMessage.newBuilder().setService(service("stale", "10.0.0.1")));

    assertThat(old.awaitClosed().getCode()).isEqualTo(Status.Code.ABORTED);
    assertThat(keys("/fedmesh/v1/endpoints/")).isEmpty();
    replacement.send(AgentMessage.newBuilder().setService(service("fresh", "10.0.0.2")));
    replacement.awaitAck(2);
    assertThat(keys("/fedmesh/v1/endpoints/"))
        .containsExactly("/fedmesh/v1/endpoints/central/default/fresh");
    replacement.close();
  }

  @Test
  void everyAgentIsSentWhatItsClusterImportsAsExportsComeAndGo() throws Exception {
    AgentStream east = new AgentStream();
    east.send(hello("east"));
    east.awaitAck(1);
    AgentStream west = new AgentStream();
    west.send(hello("west"));
    west.awaitAck(1);

    // East exports payments; west has no Service of its own: it imports the virtual address.
    east.send(
        AgentMessage.newBuilder()
            .setService(service("payments", "10.1.0.7").toBuilder().setExported(true)));
    east.awaitAck(2);
    ServiceImports westImports =
        west.awaitImports(
            set -> set.getServicesCount() == 1 && set.getServices(0).getIpsCount() == 1);
    ImportedService payments = westImports.getServices(0);
    assertThat(payments.getNamespace()).isEqualTo("default");
    assertThat(payments.getName()).isEqualTo("payments");
    assertThat(payments.getClustersList()).containsExactly("east");
    assertThat(payments.getIpsList()).containsExactly(payments.getVirtualAddress());
    assertThat(payments.getVirtualAddress()).startsWith("240.240.");
    assertThat(payments.getPortsList())
        .extracting(ServicePort::getName, ServicePort::getPort)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("grpc", 7070));

    // West gets a Service of its own (with a ClusterIP), exported too: its names answer locally.
    west.send(
        AgentMessage.newBuilder()
            .setService(
                service("payments", "10.2.0.7").toBuilder()
                    .setExported(true)
                    .addClusterIps("10.96.0.42")));
    west.awaitAck(2);
    ImportedService both =
        west.awaitImports(
                set -> set.getServicesCount() == 1 && set.getServices(0).getClustersCount() == 2)
            .getServices(0);
    assertThat(both.getClustersList()).containsExactly("east", "west");
    assertThat(both.getIpsList()).containsExactly("10.96.0.42");
    assertThat(both.getVirtualAddress()).isEqualTo(payments.getVirtualAddress());

    // Neither exports it any more: nobody imports it.
    east.send(AgentMessage.newBuilder().setService(service("payments", "10.1.0.7")));
    west.send(
        AgentMessage.newBuilder()
            .setService(service("payments", "10.2.0.7").toBuilder().addClusterIps("10.96.0.42")));
    east.awaitImports(set -> set.getServicesCount() == 0);
    west.awaitImports(set -> set.getServicesCount() == 0);
    east.close();
    west.close();
  }

  private List<String> keys(String prefix) throws Exception {
    var response =
        client
            .getKVClient()
            .get(
                ByteSequence.from(prefix, UTF_8),
                GetOption.builder().isPrefix(true).withKeysOnly(true).build())
            .get(10, TimeUnit.SECONDS);
    List<String> keys = new ArrayList<>();
    response.getKvs().forEach(kv -> keys.add(kv.getKey().toString(UTF_8)));
    return keys.stream().filter(key -> !key.startsWith("/fedmesh/v1/sessions/")).sorted().toList();
  }

  private static AgentMessage.Builder hello(String cluster) {
    return AgentMessage.newBuilder()
        .setHello(
            Hello.newBuilder()
                .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setCluster(cluster)
                .setNetwork(cluster)
                .setLocality(Locality.newBuilder().setRegion("us-east").setZone("us-east-a"))
                .setTrustDomain("fedmesh.local"));
  }

  private static ServiceState service(String name, String address) {
    return ServiceState.newBuilder()
        .setNamespace("default")
        .setName(name)
        .addPorts(ServicePort.newBuilder().setName("grpc").setPort(7070).setProtocol(Protocol.GRPC))
        .addEndpoints(
            Endpoint.newBuilder()
                .setAddress(address)
                .addPorts(EndpointPort.newBuilder().setName("grpc").setPort(50051))
                .setReady(true)
                .setServing(true))
        .build();
  }

  /** A hand-driven agent stream: sends what the test says, queues what the controller answers. */
  private final class AgentStream {
    private final BlockingQueue<ControllerMessage> received = new LinkedBlockingQueue<>();

    /** The import sets received, apart: they come whenever the mesh changes. */
    private final BlockingQueue<ServiceImports> imports = new LinkedBlockingQueue<>();

    private final BlockingQueue<Status> closed = new LinkedBlockingQueue<>();
    private final StreamObserver<AgentMessage> requests;
    private long next = 1;

    AgentStream() {
      requests =
          FederationGrpc.newStub(channel)
              .sync(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ControllerMessage message) {
                      if (message.hasImports()) {
                        imports.add(message.getImports());
                      } else {
                        received.add(message);
                      }
                    }

                    @Override
                    public void onError(Throwable error) {
                      closed.add(Status.fromThrowable(error));
                    }

                    @Override
                    public void onCompleted() {
                      closed.add(Status.OK);
                    }
                  });
    }

    void send(AgentMessage.Builder message) {
      requests.onNext(message.setGeneration(next++).build());
    }

    ControllerMessage next() throws InterruptedException {
      ControllerMessage message = received.poll(10, TimeUnit.SECONDS);
      assertThat(message).as("a controller message within 10 s").isNotNull();
      return message;
    }

    void awaitAck(long generation) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                ControllerMessage message = received.poll(100, TimeUnit.MILLISECONDS);
                return message != null
                    && message.hasAck()
                    && message.getAck().getGeneration() == generation;
              });
    }

    /** Waits for an import set that {@code condition} accepts, and returns it. */
    ServiceImports awaitImports(java.util.function.Predicate<ServiceImports> condition) {
      java.util.concurrent.atomic.AtomicReference<ServiceImports> found =
          new java.util.concurrent.atomic.AtomicReference<>();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () -> {
                ServiceImports set = imports.poll(100, TimeUnit.MILLISECONDS);
                if (set != null && condition.test(set)) {
                  found.set(set);
                  return true;
                }
                return false;
              });
      return found.get();
    }

    Status awaitClosed() throws InterruptedException {
      Status status = closed.poll(10, TimeUnit.SECONDS);
      assertThat(status).as("the stream closed within 10 s").isNotNull();
      return status;
    }

    void close() {
      requests.onCompleted();
    }
  }
}
