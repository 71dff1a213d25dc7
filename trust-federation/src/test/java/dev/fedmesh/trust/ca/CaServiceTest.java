package dev.fedmesh.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.ca.v1.CertificateServiceGrpc;
import dev.fedmesh.ca.v1.SignRequest;
import dev.fedmesh.ca.v1.SignResponse;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.Pem;
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
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CaServiceTest {
  private static final CallerIdentity CART = CallerIdentity.of("shop", "cart");

  private final Clock clock = Clock.systemUTC();
  private final RootCa root =
      RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), clock);
  private final ClusterCa east =
      root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), clock);
  private final WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), clock);
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                CaService.of(SvidIssuer.of(east, SvidPolicy.of(), clock), tokens.authenticator()))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void signsForTheWorkloadItsTokenNames() {
    CaClient client = CaClient.of(channel, () -> tokens.issue(CART, Duration.ofMinutes(5)));
    KeyPair keys = KeyAlgorithm.EC_P256.generate();

    X509Svid svid = client.sign(WorkloadCsr.create(keys), Duration.ZERO).join();

    assertThat(svid.id().uri()).isEqualTo("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(SvidVerifier.of(TrustBundleSet.of(east.trustBundle()), clock).problems(svid.chain()))
        .isEmpty();
    SpiffeLibrary.assertAccepted(svid, keys, east.trustBundle());
  }

  @Test
  void answersWithTheChainTheBundleAndTheId() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    SignResponse response =
        stub(tokens.issue(CART, Duration.ofMinutes(5)))
            .sign(
                SignRequest.newBuilder()
                    .setCsrPem(Pem.encodeCsr(WorkloadCsr.create(keys)))
                    .setTtlSeconds(3600)
                    .build());

    assertThat(response.getSpiffeId()).isEqualTo("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(response.getCertChainPemList()).hasSize(2);
    assertThat(Pem.certificates(response.getTrustBundlePem(0), "bundle"))
        .containsExactly(root.certificate());
    X509Svid svid =
        X509Svid.of(Pem.certificates(String.join("", response.getCertChainPemList()), "chain"));
    assertThat(Duration.between(svid.notBefore(), svid.notAfter()))
        .isEqualTo(Duration.ofMinutes(61));
    SpiffeLibrary.assertAccepted(svid, keys, east.trustBundle());
  }

  @Test
  void refusesACallWithoutAToken() {
    assertThatThrownBy(
            () ->
                CertificateServiceGrpc.newBlockingStub(channel)
                    .sign(SignRequest.newBuilder().setCsrPem(csrPem()).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("authorization: missing (expected: Bearer <token>)");
            });
  }

  @Test
  void refusesATokenSignedWithAnotherKey() {
    String foreign =
        WorkloadTokens.of(WorkloadTokens.newKey(), clock).issue(CART, Duration.ofMinutes(5));

    assertStatus(
        foreign,
        csrPem(),
        Status.Code.UNAUTHENTICATED,
        "token: bad signature (expected: a token issued with this CA's key)");
  }

  @Test
  void refusesACsrForAnIdentityOtherThanTheTokens() {
    String csr =
        Pem.encodeCsr(
            WorkloadCsr.create(
                KeyAlgorithm.EC_P256.generate(),
                SpiffeId.parse("spiffe://fedmesh.local/ns/shop/sa/admin")));

    assertStatus(
        tokens.issue(CART, Duration.ofMinutes(5)),
        csr,
        Status.Code.PERMISSION_DENIED,
        "csr.subjectAltName: spiffe://fedmesh.local/ns/shop/sa/admin (expected: the caller's own"
            + " SPIFFE ID spiffe://fedmesh.local/ns/shop/sa/cart)");
  }

  @Test
  void refusesABadCsrNamingTheProblem() {
    assertStatus(
        tokens.issue(CART, Duration.ofMinutes(5)),
        "hello",
        Status.Code.INVALID_ARGUMENT,
        "csr_pem: no certificate request (expected: a PEM CERTIFICATE REQUEST block)");
    assertStatus(
        tokens.issue(CART, Duration.ofMinutes(5)),
        csrPem(),
        Duration.ofDays(2),
        Status.Code.INVALID_ARGUMENT,
        "ttl: 48h (expected: <= 24h, this CA's maximum)");
  }

  @Test
  void theClientReportsARefusal() {
    CaClient client = CaClient.of(channel, () -> "fmwt1.bad.token");

    assertThatThrownBy(
            () ->
                client
                    .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO)
                    .join())
        .isInstanceOf(CompletionException.class)
        .hasRootCauseInstanceOf(StatusRuntimeException.class)
        .rootCause()
        .hasMessageStartingWith("UNAUTHENTICATED: token: malformed signature");
  }

  private void assertStatus(String token, String csr, Status.Code code, String description) {
    assertStatus(token, csr, Duration.ZERO, code, description);
  }

  private void assertStatus(
      String token, String csr, Duration ttl, Status.Code code, String description) {
    assertThatThrownBy(
            () ->
                stub(token)
                    .sign(
                        SignRequest.newBuilder()
                            .setCsrPem(csr)
                            .setTtlSeconds(ttl.getSeconds())
                            .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).isEqualTo(description);
            });
  }

  private CertificateServiceGrpc.CertificateServiceBlockingStub stub(String token) {
    Metadata headers = new Metadata();
    headers.put(CaService.AUTHORIZATION, "Bearer " + token);
    return CertificateServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static String csrPem() {
    return Pem.encodeCsr(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()));
  }
}
