package dev.fedmesh.trust.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.ca.v1.CertificateServiceGrpc;
import dev.fedmesh.ca.v1.SignRequest;
import dev.fedmesh.ca.v1.SignResponse;
import dev.fedmesh.trust.CsrSigner;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.X509Svid;
import io.grpc.CallCredentials;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * A workload's client of its cluster CA's {@code CertificateService}: sends the CSR with the
 * workload's bearer token and returns the issued SVID. Plug it into an {@link
 * dev.fedmesh.trust.SvidRotator}.
 */
public final class CaClient implements CsrSigner {
  private final CertificateServiceGrpc.CertificateServiceStub stub;

  private CaClient(CertificateServiceGrpc.CertificateServiceStub stub) {
    this.stub = stub;
  }

  /** A client over {@code channel} that presents {@code token}'s current value on every call. */
  public static CaClient of(Channel channel, Supplier<String> token) {
    requireNonNull(channel, "channel");
    requireNonNull(token, "token");
    return new CaClient(
        CertificateServiceGrpc.newStub(channel).withCallCredentials(new BearerToken(token)));
  }

  @Override
  public CompletableFuture<X509Svid> sign(byte[] csrDer, Duration ttl) {
    requireNonNull(csrDer, "csrDer");
    requireNonNull(ttl, "ttl");
    CompletableFuture<X509Svid> result = new CompletableFuture<>();
    SignRequest request =
        SignRequest.newBuilder()
            .setCsrPem(Pem.encodeCsr(csrDer))
            .setTtlSeconds(ttl.getSeconds())
            .build();
    stub.sign(
        request,
        new StreamObserver<>() {
          @Override
          public void onNext(SignResponse response) {
            try {
              List<X509Certificate> chain = new ArrayList<>();
              for (String pem : response.getCertChainPemList()) {
                chain.addAll(Pem.certificates(pem, "cert_chain_pem"));
              }
              result.complete(X509Svid.of(chain));
            } catch (RuntimeException e) {
              result.completeExceptionally(e);
            }
          }

          @Override
          public void onError(Throwable error) {
            result.completeExceptionally(error);
          }

          @Override
          public void onCompleted() {
            if (!result.isDone()) {
              result.completeExceptionally(
                  new IllegalStateException("the CA answered without a certificate"));
            }
          }
        });
    return result;
  }

  private static final class BearerToken extends CallCredentials {
    private final Supplier<String> token;

    BearerToken(Supplier<String> token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(
        RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
      try {
        Metadata headers = new Metadata();
        headers.put(CaService.AUTHORIZATION, "Bearer " + token.get());
        applier.apply(headers);
      } catch (RuntimeException e) {
        applier.fail(Status.UNAUTHENTICATED.withDescription("no token: " + e.getMessage()));
      }
    }
  }
}
