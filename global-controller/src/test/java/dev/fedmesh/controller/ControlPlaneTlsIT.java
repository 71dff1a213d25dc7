package dev.fedmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyIdentifiers;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's xDS port as an attacker meets it: over mutual TLS only, and a proxy gets config
 * only for the identity its certificate proves. An agent reaches it over TLS with its token.
 */
class ControlPlaneTlsIT {
  private static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir static Path temp;

  private static RootCa root;
  private static TrustBundleSet roots;
  private static SvidIssuer east;
  private static GlobalController controller;
  private static ClusterAgent agent;
  private AdsTestClient client;

  @BeforeAll
  static void startControllerAndAgent() throws Exception {
    Clock clock = Clock.systemUTC();
    root = RootCa.generate(RootCaSpec.of(DOMAIN), clock);
    roots = TrustBundleSet.of(TrustBundle.of(DOMAIN, root.certificate()));
    SvidIssuer controlPlane =
        SvidIssuer.of(
            root.issueIntermediate(IntermediateSpec.of(ClusterName.of("control-plane")), clock),
            SvidPolicy.of(),
            clock);
    ClusterCa eastCa = root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), clock);
    east = SvidIssuer.of(eastCa, SvidPolicy.of(), clock);
    SvidCredential serving =
        ControlPlaneTls.issue(
            controlPlane,
            CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-controller"),
            Duration.ZERO);
    Path tokens = temp.resolve("agents.yaml");
    Files.writeString(
        tokens,
        "agents:\n  - {name: east-agent, tokenSha256: "
            + AgentTokens.sha256("east-secret")
            + ", clusters: [east]}\n");
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .tls(new SvidFiles.Loaded(serving, roots))
                .agentTokens(AgentTokens.load(tokens))
                .build());

    Path endpoints = temp.resolve("endpoints.yaml");
    Files.writeString(endpoints, MeshFixtures.echoEndpointsFile("10.0.0.1"));
    ClusterInfo info =
        new ClusterInfo(
            ClusterName.of("east"),
            "east",
            Locality.of("us-east", "us-east-a"),
            List.of(),
            DOMAIN.name(),
            "test",
            KeyIdentifiers.subject(eastCa.certificate()).orElseThrow());
    agent =
        ClusterAgent.builder(info, List.of("127.0.0.1:" + controller.xdsAddress().getPort()))
            .token("east-secret")
            .controllerRoots(roots)
            .source(
                executor ->
                    new FileEndpointSource(
                        endpoints, info.name(), info.locality(), executor, Duration.ofMillis(50)))
            .start();
    await("the agent is in sync over TLS")
        .atMost(Duration.ofSeconds(30))
        .until(() -> agent.federation().isInSync());
  }

  @AfterAll
  static void stopEverything() {
    agent.close();
    controller.close();
  }

  @AfterEach
  void closeClient() throws InterruptedException {
    if (client != null) {
      client.close();
    }
  }

  @Test
  void aProxyWhoseCertificateMatchesItsNodeGetsItsConfig() {
    client = proxy(workload("shop", "payments"), node("shop", "payments", "grpc"));
    await("echo's endpoints over mutual TLS")
        .atMost(Duration.ofSeconds(30))
        .until(() -> client.currentEndpoints().equals(Set.of("10.0.0.1:7070")));
  }

  @Test
  void aCertificateOfLoadgenPresentedAsPaymentsIsRefused() {
    client = proxy(workload("shop", "loadgen"), node("shop", "payments", "grpc"));
    Status refusal = firstRefusal(client);
    assertThat(refusal.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refusal.getDescription())
        .isEqualTo(
            "node.metadata.SERVICE_ACCOUNT: 'payments' (expected: 'loadgen', as in the client"
                + " certificate spiffe://fedmesh.local/ns/shop/sa/loadgen)");
    assertThat(client.responses()).as("config sent to an impostor").isEmpty();
  }

  @Test
  void aNodeOfAnotherNamespaceOrWithoutOneIsRefused() {
    client = proxy(workload("shop", "payments"), node("bank", "payments", "grpc"));
    assertThat(firstRefusal(client).getDescription())
        .startsWith("node.metadata.NAMESPACE: 'bank' (expected: 'shop'");
    AdsTestClient bare = proxy(workload("shop", "payments"), Map.of(NodeMetadata.ROLE, "sidecar"));
    try {
      assertThat(firstRefusal(bare).getDescription())
          .startsWith("node.metadata.NAMESPACE: missing (expected: 'shop'");
    } finally {
      close(bare);
    }
  }

  @Test
  void aCertificateOfEastClaimingAnotherClusterIsRefused() {
    Map<String, String> metadata = new java.util.HashMap<>(node("shop", "payments", "grpc"));
    metadata.put(NodeMetadata.CLUSTER, "west");
    client = proxy(workload("shop", "payments"), metadata);
    Status refusal = firstRefusal(client);
    assertThat(refusal.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refusal.getDescription())
        .isEqualTo(
            "node.metadata.FEDMESH_CLUSTER: 'west' (expected: the cluster whose CA issued the"
                + " client certificate, east)");
  }

  @Test
  void aWorkloadMayNotAskForAGatewaysConfig() {
    client = proxy(workload("shop", "payments"), node("shop", "payments", "gateway"));
    Status refusal = firstRefusal(client);
    assertThat(refusal.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refusal.getDescription()).startsWith("node.metadata.FEDMESH_ROLE: 'gateway'");
  }

  @Test
  void aProxyWithoutACertificateIsRefused() {
    client = proxy(Optional::empty, node("shop", "payments", "grpc"));
    Status refusal = firstRefusal(client);
    assertThat(refusal.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refusal.getDescription()).startsWith("xDS needs a client certificate");
    assertThat(client.responses()).isEmpty();
  }

  @Test
  void aCertificateOfAnotherRootFailsTheHandshake() {
    RootCa stranger = RootCa.generate(RootCaSpec.of(DOMAIN), Clock.systemUTC());
    SvidIssuer strangers =
        SvidIssuer.of(
            stranger.issueIntermediate(
                IntermediateSpec.of(ClusterName.of("east")), Clock.systemUTC()),
            SvidPolicy.of(),
            Clock.systemUTC());
    SvidCredential forged =
        ControlPlaneTls.issue(strangers, CallerIdentity.of("shop", "payments"), Duration.ZERO);
    client = proxy(() -> Optional.of(forged), node("shop", "payments", "grpc"));
    // The server refuses the certificate in the handshake; how the client learns it (a TLS
    // alert, a closed connection) is the transport's business: no config ever arrives.
    assertThat(firstRefusal(client).getCode()).isNotEqualTo(Status.Code.OK);
    assertThat(client.responses()).isEmpty();
  }

  @Test
  void aPlaintextClientGetsNothing() {
    client =
        new AdsTestClient(
            controller.xdsAddress().getPort(), "plain", "east", "us-east", "us-east-a");
    client.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
    assertThat(firstRefusal(client).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(client.responses()).isEmpty();
  }

  @Test
  void aPlaintextAgentNeverReachesFederation() throws Exception {
    ManagedChannel plaintext =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsAddress().getPort())
            .usePlaintext()
            .build();
    try {
      java.util.concurrent.CompletableFuture<Status> ended =
          new java.util.concurrent.CompletableFuture<>();
      io.grpc.stub.StreamObserver<dev.fedmesh.federation.v1.AgentMessage> requests =
          dev.fedmesh.federation.v1.FederationGrpc.newStub(plaintext)
              .withCallCredentials(bearer("east-secret"))
              .sync(
                  new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(dev.fedmesh.federation.v1.ControllerMessage message) {
                      ended.completeExceptionally(
                          new AssertionError("the controller answered in plaintext: " + message));
                    }

                    @Override
                    public void onError(Throwable error) {
                      ended.complete(Status.fromThrowable(error));
                    }

                    @Override
                    public void onCompleted() {
                      ended.complete(Status.OK);
                    }
                  });
      requests.onNext(
          dev.fedmesh.federation.v1.AgentMessage.newBuilder()
              .setGeneration(1)
              .setHello(
                  dev.fedmesh.federation.v1.Hello.newBuilder()
                      .setProtocolVersion(
                          dev.fedmesh.federation.v1.ProtocolVersion.PROTOCOL_VERSION_1)
                      .setCluster("east")
                      .setTrustDomain(DOMAIN.name()))
              .build());
      assertThat(ended.get(15, java.util.concurrent.TimeUnit.SECONDS).getCode())
          .isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(agent.federation().isInSync()).as("the real agent keeps its session").isTrue();
    } finally {
      plaintext.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private static io.grpc.CallCredentials bearer(String token) {
    return new io.grpc.CallCredentials() {
      @Override
      public void applyRequestMetadata(
          RequestInfo info, java.util.concurrent.Executor executor, MetadataApplier applier) {
        io.grpc.Metadata headers = new io.grpc.Metadata();
        headers.put(
            io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
            "Bearer " + token);
        applier.apply(headers);
      }
    };
  }

  private static Status firstRefusal(AdsTestClient client) {
    await("the controller ends the stream")
        .atMost(Duration.ofSeconds(15))
        .until(() -> !client.streamErrors().isEmpty());
    return client.streamErrors().get(0);
  }

  private static Supplier<Optional<SvidCredential>> workload(String namespace, String account) {
    SvidCredential credential =
        ControlPlaneTls.issue(east, CallerIdentity.of(namespace, account), Duration.ZERO);
    return () -> Optional.of(credential);
  }

  private static Map<String, String> node(String namespace, String account, String role) {
    return Map.of(
        NodeMetadata.ROLE, role,
        NodeMetadata.NAMESPACE, namespace,
        NodeMetadata.SERVICE_ACCOUNT, account);
  }

  private static AdsTestClient proxy(
      Supplier<Optional<SvidCredential>> credential, Map<String, String> metadata) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsAddress().getPort())
            .sslContext(
                ControlPlaneTls.client(
                    credential,
                    SvidVerifier.of(roots, Clock.systemUTC()),
                    ControlPlaneTls.anyController()))
            .build();
    AdsTestClient proxy =
        new AdsTestClient(channel, "proxy-1", "east", "us-east", "us-east-a", metadata);
    proxy.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
    return proxy;
  }

  private static void close(AdsTestClient proxy) {
    try {
      proxy.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
