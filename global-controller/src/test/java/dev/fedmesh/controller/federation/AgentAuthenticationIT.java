package dev.fedmesh.controller.federation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.AgentTokens;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ProtocolVersion;
import dev.fedmesh.testkit.EtcdExtension;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Agents prove who they are; each identity speaks only for its own clusters. */
class AgentAuthenticationIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir static Path temp;

  private static GlobalController controller;
  private static ManagedChannel channel;

  @BeforeAll
  static void startController() throws Exception {
    Path tokens = temp.resolve("agents.yaml");
    Files.writeString(
        tokens,
        "agents:\n"
            + "  - {name: east-agent, tokenSha256: "
            + AgentTokens.sha256("east-secret")
            + ", clusters: [east]}\n"
            + "  - {name: east-impostor, tokenSha256: "
            + AgentTokens.sha256("impostor-secret")
            + ", clusters: [east, west]}\n");
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .agentTokens(AgentTokens.load(tokens))
                .build());
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsAddress().getPort())
            .usePlaintext()
            .build();
  }

  @AfterAll
  static void stopController() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    controller.close();
  }

  @Test
  void withoutATokenTheStreamIsRefused() throws Exception {
    Stream stream = new Stream(null);
    stream.hello("east");

    Status status = stream.awaitClosed();

    assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(status.getDescription()).contains("authorization: missing");
  }

  @Test
  void anUnknownTokenIsRefused() throws Exception {
    Stream stream = new Stream("guess");
    stream.hello("east");

    assertThat(stream.awaitClosed().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void anAgentCannotSpeakForAClusterItWasNotGiven() throws Exception {
    Stream stream = new Stream("east-secret");
    stream.hello("central");

    ControllerMessage refusal = stream.next();

    assertThat(refusal.getRefusal().getReason())
        .contains("hello.cluster: 'central'")
        .contains("agent 'east-agent'");
    assertThat(stream.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void aSecondIdentityCannotTakeAClusterAnotherHolds() throws Exception {
    Stream owner = new Stream("east-secret");
    owner.hello("east");
    assertThat(owner.next().hasWelcome()).isTrue();

    Stream impostor = new Stream("impostor-secret");
    impostor.hello("east");

    assertThat(impostor.next().getRefusal().getReason())
        .contains("cluster east is held by agent 'east-agent'");
    assertThat(impostor.awaitClosed().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);

    // The owner reconnecting under its own identity takes its session back at once.
    Stream reconnected = new Stream("east-secret");
    reconnected.hello("east");
    assertThat(reconnected.next().hasWelcome()).isTrue();
    owner.close();
    reconnected.close();
  }

  private static final class Stream {
    private final BlockingQueue<ControllerMessage> received = new LinkedBlockingQueue<>();
    private final BlockingQueue<Status> closed = new LinkedBlockingQueue<>();
    private final StreamObserver<AgentMessage> requests;

    Stream(String token) {
      Metadata headers = new Metadata();
      if (token != null) {
        headers.put(
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      }
      requests =
          FederationGrpc.newStub(channel)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
              .sync(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ControllerMessage message) {
                      received.add(message);
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

    void hello(String cluster) {
      requests.onNext(
          AgentMessage.newBuilder()
              .setGeneration(1)
              .setHello(
                  Hello.newBuilder()
                      .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                      .setCluster(cluster)
                      .setTrustDomain("fedmesh.local"))
              .build());
    }

    ControllerMessage next() throws InterruptedException {
      ControllerMessage message = received.poll(10, TimeUnit.SECONDS);
      assertThat(message).as("a controller message within 10 s").isNotNull();
      return message;
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
