package dev.fedmesh.trust.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.ca.v1.CertificateServiceGrpc;
import dev.fedmesh.ca.v1.SignRequest;
import dev.fedmesh.ca.v1.SignResponse;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.CertificateRequestException;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.X509Svid;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster CA's gRPC service, {@code fedmesh.ca.v1.CertificateService}: authenticates the
 * caller, then signs its CSR with the SPIFFE ID the caller's identity gives.
 */
public final class CaService {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<CallerCredentials> CREDENTIALS = Context.key("fedmesh-caller");
  private static final Logger log = LoggerFactory.getLogger(CaService.class);

  private CaService() {}

  /** The service, ready to add to a gRPC server. */
  public static ServerServiceDefinition of(SvidIssuer issuer, CallerAuthenticator authenticator) {
    requireNonNull(issuer, "issuer");
    requireNonNull(authenticator, "authenticator");
    return ServerInterceptors.intercept(
        new Service(issuer, authenticator), new CredentialsInterceptor());
  }

  private static final class Service extends CertificateServiceGrpc.CertificateServiceImplBase {
    private final SvidIssuer issuer;
    private final CallerAuthenticator authenticator;

    Service(SvidIssuer issuer, CallerAuthenticator authenticator) {
      this.issuer = issuer;
      this.authenticator = authenticator;
    }

    @Override
    public void sign(SignRequest request, StreamObserver<SignResponse> response) {
      CallerIdentity caller;
      try {
        caller = authenticator.authenticate(CREDENTIALS.get());
      } catch (AuthenticationException e) {
        log.warn("refused a certificate request: {}", e.getMessage());
        response.onError(Status.UNAUTHENTICATED.withDescription(e.getMessage()).asException());
        return;
      }
      X509Svid svid;
      try {
        byte[] csr = Pem.csr(request.getCsrPem(), "csr_pem");
        svid = issuer.issue(csr, caller, Duration.ofSeconds(request.getTtlSeconds()));
      } catch (IllegalArgumentException e) {
        refuse(response, caller, Status.INVALID_ARGUMENT, e.getMessage());
        return;
      } catch (CertificateRequestException e) {
        Status status =
            switch (e.reason()) {
              case IDENTITY_MISMATCH -> Status.PERMISSION_DENIED;
              case CA_UNAVAILABLE -> Status.FAILED_PRECONDITION;
              case INVALID_REQUEST -> Status.INVALID_ARGUMENT;
            };
        refuse(response, caller, status, e.getMessage());
        return;
      }
      SignResponse.Builder answer = SignResponse.newBuilder().setSpiffeId(svid.id().uri());
      for (X509Certificate certificate : svid.chain()) {
        answer.addCertChainPem(Pem.encode(List.of(certificate)));
      }
      for (X509Certificate root : issuer.trustBundle().roots()) {
        answer.addTrustBundlePem(Pem.encode(List.of(root)));
      }
      log.info(
          "issued {} (serial {}) valid until {}",
          svid.id(),
          svid.leaf().getSerialNumber().toString(16).toLowerCase(Locale.ROOT),
          svid.notAfter());
      response.onNext(answer.build());
      response.onCompleted();
    }

    private static void refuse(
        StreamObserver<SignResponse> response,
        CallerIdentity caller,
        Status status,
        String reason) {
      log.warn("refused a certificate request of {}: {}", caller, reason);
      response.onError(status.withDescription(reason).asException());
    }
  }

  /** Puts what the caller presented into the call's context for the authenticator. */
  private static final class CredentialsInterceptor implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      Optional<String> token = Optional.empty();
      String authorization = headers.get(AUTHORIZATION);
      if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
        token = Optional.of(authorization.substring(7).trim());
      }
      List<X509Certificate> peer = new ArrayList<>();
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      if (session != null) {
        try {
          for (Certificate certificate : session.getPeerCertificates()) {
            if (certificate instanceof X509Certificate x509) {
              peer.add(x509);
            }
          }
        } catch (SSLPeerUnverifiedException e) {
          // The client presented no certificate: token authentication only.
        }
      }
      Context context =
          Context.current().withValue(CREDENTIALS, new CallerCredentials(token, peer));
      return Contexts.interceptCall(context, call, headers, next);
    }
  }
}
