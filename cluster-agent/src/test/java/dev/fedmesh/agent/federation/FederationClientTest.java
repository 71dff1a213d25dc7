package dev.fedmesh.agent.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.federation.v1.ServiceWithdrawn;
import dev.fedmesh.federation.v1.Welcome;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.FederationCodec;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FederationClientTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_LOCALITY = Locality.of("us-east", "us-east-a");
  private static final ClusterInfo CLUSTER =
      new ClusterInfo(
          EAST,
          "net-east",
          EAST_LOCALITY,
          List.of(new GatewayAddress("192.0.2.10", 15443)),
          "fedmesh.local",
          "0.1.0-test");
  private static final Duration NO_HEARTBEATS = Duration.ofHours(1);

  private static final ServiceEndpoints ECHO = service("echo", "10.0.0.1");
  private static final ServiceEndpoints ECHO_SCALED = service("echo", "10.0.0.1", "10.0.0.2");
  private static final ServiceEndpoints WEB = service("web", "10.0.1.1");
  private static final ServiceEndpoints DB = service("db", "10.0.2.1");

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private ScheduledExecutorService executor;
  private FederationClient client;
  private final List<ServiceImportSet> imports = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    executor = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    executor.shutdown();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
      assertThat(channel.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    for (Server server : servers) {
      server.shutdownNow();
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void streamStartsWithHelloThenEveryServiceThenInitialSyncComplete()
      throws IOException, InvalidMessageException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);

    client.update(services(ECHO, WEB));

    FakeStream stream = controller.awaitStream(0);
    List<AgentMessage> received = stream.awaitInitialSync();
    assertThat(received).hasSize(4);
    assertThat(FederationCodec.clusterInfo(received.get(0).getHello())).isEqualTo(CLUSTER);
    assertThat(List.of(serviceOf(received.get(1)), serviceOf(received.get(2))))
        .containsExactlyInAnyOrder(ECHO, WEB);
    assertThat(received.get(3).hasInitialSyncComplete()).isTrue();
    assertThat(generations(received)).containsExactly(1L, 2L, 3L, 4L);
  }

  @Test
  void clusterWithoutServicesStillCompletesItsInitialSync() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);

    client.update(Map.of());

    List<AgentMessage> received = controller.awaitStream(0).awaitInitialSync();
    assertThat(received).hasSize(2);
    assertThat(received.get(0).hasHello()).isTrue();
    assertThat(generations(received)).containsExactly(1L, 2L);
    eventually().until(client::isInSync);
  }

  @Test
  void inSyncOnlyOnceTheControllerAcksEverythingSent() throws IOException {
    FakeController controller = startController("replica-a");
    controller.holdAcks();
    startClient(NO_HEARTBEATS);

    client.update(services(ECHO, WEB));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();
    eventually().until(client::isConnected);

    assertThat(client.controllerReplica()).isEqualTo("replica-a");
    assertThat(client.isInSync()).as("nothing acked yet").isFalse();

    stream.ack(4);
    eventually().until(client::isInSync);

    client.update(services(ECHO_SCALED, WEB));
    stream.awaitMessages(5);
    assertThat(client.isInSync()).as("generation 5 not acked yet").isFalse();

    stream.ack(5);
    eventually().until(client::isInSync);
  }

  @Test
  void updateChangingOneServiceSendsOnlyThatService() throws IOException, InvalidMessageException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO, WEB));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();

    client.update(services(ECHO_SCALED, WEB));
    client.update(services(ECHO_SCALED, WEB));
    List<AgentMessage> all = stream.closeAndAwaitEnd(client);
    List<AgentMessage> afterSync = all.subList(4, all.size());

    assertThat(afterSync).hasSize(1);
    assertThat(serviceOf(afterSync.get(0))).isEqualTo(ECHO_SCALED);
    assertThat(afterSync.get(0).getGeneration()).isEqualTo(5);
  }

  @Test
  void addedServiceIsSent() throws IOException, InvalidMessageException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();

    client.update(services(ECHO, DB));
    List<AgentMessage> all = stream.closeAndAwaitEnd(client);
    List<AgentMessage> afterSync = all.subList(3, all.size());

    assertThat(afterSync).hasSize(1);
    assertThat(serviceOf(afterSync.get(0))).isEqualTo(DB);
    assertThat(afterSync.get(0).getGeneration()).isEqualTo(4);
  }

  @Test
  void removedServiceIsWithdrawn() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO, WEB));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();

    client.update(services(ECHO));
    List<AgentMessage> all = stream.closeAndAwaitEnd(client);
    List<AgentMessage> afterSync = all.subList(4, all.size());

    assertThat(afterSync)
        .containsExactly(
            AgentMessage.newBuilder()
                .setGeneration(5)
                .setWithdrawn(ServiceWithdrawn.newBuilder().setNamespace("default").setName("web"))
                .build());
  }

  @Test
  void reconnectsAfterAStreamErrorAndResendsTheCurrentState()
      throws IOException, InvalidMessageException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO, WEB));
    FakeStream first = controller.awaitStream(0);
    first.awaitInitialSync();
    client.update(services(ECHO_SCALED, DB));
    first.awaitMessages(7);

    first.fail(Status.UNAVAILABLE.withDescription("replica shutting down"));

    List<AgentMessage> received = controller.awaitStream(1).awaitInitialSync();
    assertThat(received).hasSize(4);
    assertThat(FederationCodec.clusterInfo(received.get(0).getHello())).isEqualTo(CLUSTER);
    assertThat(List.of(serviceOf(received.get(1)), serviceOf(received.get(2))))
        .containsExactlyInAnyOrder(ECHO_SCALED, DB);
    assertThat(received.get(3).hasInitialSyncComplete()).isTrue();
    assertThat(generations(received)).containsExactly(1L, 2L, 3L, 4L);
    eventually().until(client::isInSync);
  }

  @Test
  void reconnectsWhenTheControllerEndsTheStreamCleanly() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO));
    controller.awaitStream(0).awaitInitialSync();

    controller.awaitStream(0).complete();

    List<AgentMessage> received = controller.awaitStream(1).awaitInitialSync();
    assertThat(received.get(0).hasHello()).isTrue();
    assertThat(generations(received)).containsExactly(1L, 2L, 3L);
    eventually().until(client::isInSync);
  }

  @Test
  void failsOverToTheNextControllerWhenTheStreamFails()
      throws IOException, InvalidMessageException {
    FakeController a = startController("replica-a");
    FakeController b = startController("replica-b");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO, WEB));
    a.awaitStream(0).awaitInitialSync();
    eventually().until(() -> client.controllerReplica().equals("replica-a"));

    a.awaitStream(0).fail(Status.UNAVAILABLE);

    List<AgentMessage> received = b.awaitStream(0).awaitInitialSync();
    assertThat(FederationCodec.clusterInfo(received.get(0).getHello())).isEqualTo(CLUSTER);
    assertThat(List.of(serviceOf(received.get(1)), serviceOf(received.get(2))))
        .containsExactlyInAnyOrder(ECHO, WEB);
    eventually().until(() -> client.controllerReplica().equals("replica-b") && client.isInSync());
    assertThat(a.streamCount()).as("streams to replica-a").isEqualTo(1);
  }

  @Test
  void skipsAControllerThatCannotBeReached() throws IOException {
    channels.add(
        InProcessChannelBuilder.forName(InProcessServerBuilder.generateName())
            .directExecutor()
            .build());
    FakeController reachable = startController("replica-b");
    startClient(NO_HEARTBEATS);

    client.update(services(ECHO));

    reachable.awaitStream(0).awaitInitialSync();
    eventually().until(() -> client.controllerReplica().equals("replica-b") && client.isInSync());
  }

  @Test
  void heartbeatsContinueTheStreamsGenerations() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(Duration.ofMillis(20));
    client.update(services(ECHO));
    FakeStream stream = controller.awaitStream(0);

    eventually()
        .until(() -> stream.received().stream().filter(AgentMessage::hasHeartbeat).count() >= 2);

    List<AgentMessage> received = stream.received();
    assertThat(received.subList(0, 3))
        .extracting(AgentMessage::getKindCase)
        .containsExactly(
            AgentMessage.KindCase.HELLO,
            AgentMessage.KindCase.SERVICE,
            AgentMessage.KindCase.INITIAL_SYNC_COMPLETE);
    assertThat(received.subList(3, received.size()))
        .extracting(AgentMessage::getKindCase)
        .containsOnly(AgentMessage.KindCase.HEARTBEAT);
    assertThat(generations(received))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, received.size()).boxed().toList());
  }

  @Test
  void closeEndsTheStreamAndDoesNotReconnect() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();

    stream.closeAndAwaitEnd(client);

    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(10))
        .until(() -> controller.streamCount() == 1);
  }

  @Test
  void importSetsReachTheListenerValidatedAndOnlyOnceAControllerSendsThem() throws IOException {
    FakeController controller = startController("replica-a");
    startClient(NO_HEARTBEATS);
    client.update(services(ECHO));
    FakeStream stream = controller.awaitStream(0);
    stream.awaitInitialSync();
    eventually().until(client::isInSync);
    assertThat(imports).as("no import set before a controller sends one").isEmpty();

    stream.send(
        ControllerMessage.newBuilder()
            .setImports(
                ServiceImports.newBuilder()
                    .addServices(imported("web", "10.96.0.30"))
                    .addServices(imported("db", "not-an-ip")))
            .build());

    eventually().until(() -> imports.size() == 1);
    ServiceImportSet set = imports.get(0);
    assertThat(set.services())
        .extracting(ImportedService::service)
        .containsExactly(ServiceKey.of("default", "web"));
    assertThat(set.services().get(0).clusters()).containsExactly(ClusterName.of("west"));
    assertThat(set.findings())
        .singleElement()
        .satisfies(
            finding ->
                assertThat(finding.message()).contains("imports.services[1].ips[0]: 'not-an-ip'"));

    stream.send(ControllerMessage.newBuilder().setImports(ServiceImports.newBuilder()).build());

    eventually().until(() -> imports.size() == 2);
    assertThat(imports.get(1).services()).as("an empty set imports nothing").isEmpty();
  }

  private static dev.fedmesh.federation.v1.ImportedService imported(String name, String ip) {
    return dev.fedmesh.federation.v1.ImportedService.newBuilder()
        .setNamespace("default")
        .setName(name)
        .addPorts(
            dev.fedmesh.federation.v1.ServicePort.newBuilder()
                .setName("http")
                .setPort(8080)
                .setProtocol(dev.fedmesh.federation.v1.Protocol.HTTP))
        .addClusters("west")
        .addIps(ip)
        .build();
  }

  private FakeController startController(String replica) throws IOException {
    FakeController controller = new FakeController(replica);
    String name = InProcessServerBuilder.generateName();
    servers.add(InProcessServerBuilder.forName(name).addService(controller).build().start());
    channels.add(InProcessChannelBuilder.forName(name).directExecutor().build());
    return controller;
  }

  private void startClient(Duration heartbeatInterval) {
    client =
        new FederationClient(
            List.copyOf(channels),
            CLUSTER,
            executor,
            new Backoff(Duration.ofMillis(1), Duration.ofMillis(10), new SplittableRandom(7)),
            heartbeatInterval,
            imports::add);
  }

  private static ServiceEndpoints service(String name, String... addresses) {
    return new ServiceEndpoints(
        EAST,
        ServiceKey.of("default", name),
        List.of(new ServicePort("http", 8080, Protocol.HTTP)),
        true,
        Arrays.stream(addresses)
            .map(address -> Endpoint.of(address, Map.of("http", 18080), EAST_LOCALITY))
            .toList());
  }

  private static Map<ServiceKey, ServiceEndpoints> services(ServiceEndpoints... services) {
    Map<ServiceKey, ServiceEndpoints> byKey = new LinkedHashMap<>();
    for (ServiceEndpoints service : services) {
      byKey.put(service.service(), service);
    }
    return byKey;
  }

  /** Decodes a ServiceState the way the controller does. */
  private static ServiceEndpoints serviceOf(AgentMessage message) throws InvalidMessageException {
    assertThat(message.hasService()).as("%s is a ServiceState", message.getKindCase()).isTrue();
    return FederationCodec.serviceEndpoints(EAST, message.getService());
  }

  private static List<Long> generations(List<AgentMessage> messages) {
    return messages.stream().map(AgentMessage::getGeneration).toList();
  }

  private static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10));
  }

  /** A controller replica that records each stream and welcomes and acks every message. */
  private static final class FakeController extends FederationGrpc.FederationImplBase {
    private final String replica;
    private final List<FakeStream> streams = new CopyOnWriteArrayList<>();
    private volatile boolean acking = true;

    FakeController(String replica) {
      this.replica = replica;
    }

    /** From now on, streams are welcomed but acked only by {@link FakeStream#ack}. */
    void holdAcks() {
      acking = false;
    }

    @Override
    public StreamObserver<AgentMessage> sync(StreamObserver<ControllerMessage> responses) {
      FakeStream stream = new FakeStream(replica, responses, acking);
      streams.add(stream);
      return stream;
    }

    FakeStream awaitStream(int index) {
      eventually().until(() -> streams.size() > index);
      return streams.get(index);
    }

    int streamCount() {
      return streams.size();
    }
  }

  /** One agent stream as the controller sees it. */
  private static final class FakeStream implements StreamObserver<AgentMessage> {
    private final String replica;
    private final StreamObserver<ControllerMessage> responses;
    private final boolean acking;
    private final List<AgentMessage> received = new CopyOnWriteArrayList<>();
    private volatile boolean agentFinished;
    private boolean responsesClosed;

    FakeStream(String replica, StreamObserver<ControllerMessage> responses, boolean acking) {
      this.replica = replica;
      this.responses = responses;
      this.acking = acking;
    }

    @Override
    public synchronized void onNext(AgentMessage message) {
      received.add(message);
      if (responsesClosed) {
        return;
      }
      if (message.hasHello()) {
        responses.onNext(
            ControllerMessage.newBuilder()
                .setWelcome(Welcome.newBuilder().setControllerReplica(replica))
                .build());
      }
      if (acking) {
        ack(message.getGeneration());
      }
    }

    @Override
    public void onError(Throwable error) {
      agentFinished = true;
    }

    @Override
    public synchronized void onCompleted() {
      agentFinished = true;
      complete();
    }

    synchronized void ack(long generation) {
      responses.onNext(
          ControllerMessage.newBuilder()
              .setAck(Ack.newBuilder().setGeneration(generation))
              .build());
    }

    synchronized void send(ControllerMessage message) {
      responses.onNext(message);
    }

    synchronized void fail(Status status) {
      if (!responsesClosed) {
        responsesClosed = true;
        responses.onError(status.asRuntimeException());
      }
    }

    synchronized void complete() {
      if (!responsesClosed) {
        responsesClosed = true;
        responses.onCompleted();
      }
    }

    List<AgentMessage> received() {
      return List.copyOf(received);
    }

    List<AgentMessage> awaitMessages(int count) {
      eventually().until(() -> received.size() >= count);
      return received();
    }

    /** Everything up to and including the first InitialSyncComplete. */
    List<AgentMessage> awaitInitialSync() {
      eventually().until(() -> received.stream().anyMatch(AgentMessage::hasInitialSyncComplete));
      List<AgentMessage> all = received();
      for (int i = 0; i < all.size(); i++) {
        if (all.get(i).hasInitialSyncComplete()) {
          return all.subList(0, i + 1);
        }
      }
      throw new AssertionError("unreachable");
    }

    /** Closes the client and waits for its half-close: then every message it sent is here. */
    List<AgentMessage> closeAndAwaitEnd(FederationClient client) {
      client.close();
      eventually().until(() -> agentFinished);
      return received();
    }
  }
}
