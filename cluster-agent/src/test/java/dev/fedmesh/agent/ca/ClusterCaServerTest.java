package dev.fedmesh.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SpiffeId;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import dev.fedmesh.trust.X509Svid;
import dev.fedmesh.trust.ca.CaClient;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster CA over a real gRPC port, with Kubernetes (a scripted API server) vouching for
 * tokens: a caller gets its own identity and no other, and a token Kubernetes rejects gets nothing.
 */
@EnableKubernetesMockClient
class ClusterCaServerTest {
  private static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
  private static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");

  KubernetesMockServer server;
  KubernetesClient client;

  private ClusterCaServer ca;
  private ManagedChannel channel;
  private TrustBundleSet bundles;

  @BeforeEach
  void startCa() {
    RootCa root = RootCa.generate(RootCaSpec.builder(DOMAIN).build(), Clock.systemUTC());
    ClusterCa east =
        root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), Clock.systemUTC());
    ca =
        ClusterCaServer.start(
            SvidIssuer.of(east, SvidPolicy.of(), Clock.systemUTC()),
            new InetSocketAddress("127.0.0.1", 0),
            new TokenReviewAuthenticator(client, TokenReviewAuthenticator.AUDIENCE));
    bundles = TrustBundleSet.of(east.trustBundle());
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", ca.port())
            .sslContext(
                ControlPlaneTls.client(
                    SvidVerifier.of(bundles, Clock.systemUTC()), ControlPlaneTls.anyCa()))
            .build();
  }

  @AfterEach
  void stopCa() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    ca.close();
  }

  @Test
  void aPlaintextClientIsRefusedBeforeItsTokenIsRead() throws Exception {
    vouchFor("system:serviceaccount:a:x");
    ManagedChannel plaintext =
        NettyChannelBuilder.forAddress("127.0.0.1", ca.port()).usePlaintext().build();
    try {
      var call =
          CaClient.of(plaintext, () -> "token-of-a-x")
              .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO);
      Throwable refused = catchThrowable(() -> call.get(10, TimeUnit.SECONDS));
      // A TLS server answers a plaintext client's bytes by closing the connection.
      assertThat(io.grpc.Status.fromThrowable(refused).getCode())
          .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
      assertThat(server.getRequestCount()).as("TokenReviews the CA made").isZero();
    } finally {
      plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClientThatExpectsAnotherIdentityRefusesTheCa() throws Exception {
    vouchFor("system:serviceaccount:a:x");
    ManagedChannel wrongServer =
        NettyChannelBuilder.forAddress("127.0.0.1", ca.port())
            .sslContext(
                ControlPlaneTls.client(
                    SvidVerifier.of(bundles, Clock.systemUTC()), ControlPlaneTls.anyController()))
            .build();
    try {
      var call =
          CaClient.of(wrongServer, () -> "token-of-a-x")
              .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO);
      assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS))
          .rootCause()
          .hasMessageContaining("fedmesh-ca is not authorized");
    } finally {
      wrongServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aTokenOfNamespaceAServiceAccountXGetsExactlyThatIdentity() throws Exception {
    vouchFor("system:serviceaccount:a:x");

    X509Svid svid =
        CaClient.of(channel, () -> "token-of-a-x")
            .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO)
            .get(10, TimeUnit.SECONDS);

    assertThat(svid.id().toString()).isEqualTo("spiffe://fedmesh.local/ns/a/sa/x");
  }

  @Test
  void aCsrAskingForAnotherIdentityIsRefused() {
    vouchFor("system:serviceaccount:a:x");
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    byte[] csr =
        WorkloadCsr.create(keys, SpiffeId.parse("spiffe://fedmesh.local/ns/kube-system/sa/admin"));

    assertThatThrownBy(
            () ->
                CaClient.of(channel, () -> "token-of-a-x")
                    .sign(csr, Duration.ZERO)
                    .get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("spiffe://fedmesh.local/ns/kube-system/sa/admin");
  }

  @Test
  void aTokenKubernetesDoesNotAuthenticateIsRefused() {
    server
        .expect()
        .post()
        .withPath(PATH)
        .andReturn(
            201,
            new TokenReviewBuilder()
                .withNewStatus()
                .withAuthenticated(false)
                .withError("token has expired")
                .endStatus()
                .build())
        .once();

    assertThatThrownBy(
            () ->
                CaClient.of(channel, () -> "stale-token")
                    .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO)
                    .get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .satisfies(
            e ->
                assertThat(Status.fromThrowable(e.getCause()).getCode())
                    .isEqualTo(Status.Code.UNAUTHENTICATED))
        .hasMessageContaining("token has expired");
  }

  private void vouchFor(String username) {
    server
        .expect()
        .post()
        .withPath(PATH)
        .andReturn(
            201,
            new TokenReviewBuilder()
                .withNewStatus()
                .withAuthenticated(true)
                .withAudiences(TokenReviewAuthenticator.AUDIENCE)
                .withNewUser()
                .withUsername(username)
                .endUser()
                .endStatus()
                .build())
        .once();
  }
}
