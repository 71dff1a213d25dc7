package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * TLS for the control plane's gRPC connections (xDS, federation, the cluster CA), with SPIFFE
 * identities on both ends. A server presents its SVID and checks a client's chain whenever one is
 * presented; a client accepts only a server whose SVID is the identity it expects, never a host
 * name. Credentials are read at every handshake, so a rotated certificate applies to the next
 * connection without a restart.
 *
 * <p>The control plane's own identities live in the {@code fedmesh-system} namespace: {@link
 * #controllerId}, {@link #caId}, {@link #agentId}, {@link #gatewayId}.
 */
public final class ControlPlaneTls {
  /** The namespace of the control plane's own identities. */
  public static final String SYSTEM_NAMESPACE = "fedmesh-system";

  private ControlPlaneTls() {}

  /** {@code spiffe://<td>/ns/fedmesh-system/sa/fedmesh-controller}: every controller replica. */
  public static SpiffeId controllerId(TrustDomain trustDomain) {
    return SpiffeId.of(trustDomain, CallerIdentity.of(SYSTEM_NAMESPACE, "fedmesh-controller"));
  }

  /** {@code spiffe://<td>/ns/fedmesh-system/sa/fedmesh-ca}: a cluster's CA service. */
  public static SpiffeId caId(TrustDomain trustDomain) {
    return SpiffeId.of(trustDomain, CallerIdentity.of(SYSTEM_NAMESPACE, "fedmesh-ca"));
  }

  /** {@code spiffe://<td>/ns/fedmesh-system/sa/fedmesh-agent}: a cluster's agent. */
  public static SpiffeId agentId(TrustDomain trustDomain) {
    return SpiffeId.of(trustDomain, CallerIdentity.of(SYSTEM_NAMESPACE, "fedmesh-agent"));
  }

  /** {@code spiffe://<td>/ns/fedmesh-system/sa/fedmesh-eastwestgateway}: east-west gateways. */
  public static SpiffeId gatewayId(TrustDomain trustDomain) {
    return SpiffeId.of(trustDomain, CallerIdentity.of(SYSTEM_NAMESPACE, "fedmesh-eastwestgateway"));
  }

  /**
   * A server context: presents {@code credential}; a client may present an SVID, which must then
   * pass {@code verifier} (callers that need one check {@link #peerId} per call).
   */
  public static SslContext server(
      Supplier<Optional<SvidCredential>> credential, SvidVerifier verifier) {
    requireNonNull(credential, "credential");
    requireNonNull(verifier, "verifier");
    try {
      return GrpcSslContexts.configure(
              SslContextBuilder.forServer(SpiffeTls.keyManager(credential)), SslProvider.JDK)
          .trustManager(SpiffeTls.trustManager(verifier, id -> true))
          .clientAuth(ClientAuth.OPTIONAL)
          .protocols("TLSv1.3")
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("cannot build the server TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * Accepts the controller's identity in any trust domain the verifier trusts (the verifier has
   * already checked that the certificate chains to that domain's roots).
   */
  public static Predicate<SpiffeId> anyController() {
    String path = controllerId(TrustDomain.DEFAULT).path();
    return id -> id.path().equals(path);
  }

  /** Accepts a cluster CA's identity in any trust domain the verifier trusts. */
  public static Predicate<SpiffeId> anyCa() {
    String path = caId(TrustDomain.DEFAULT).path();
    return id -> id.path().equals(path);
  }

  /**
   * A client context: accepts a server whose SVID passes {@code verifier} and {@code server};
   * presents {@code credential} when it holds one (empty: no client certificate).
   */
  public static SslContext client(
      Supplier<Optional<SvidCredential>> credential,
      SvidVerifier verifier,
      Predicate<SpiffeId> expected) {
    requireNonNull(credential, "credential");
    requireNonNull(verifier, "verifier");
    requireNonNull(expected, "expected");
    try {
      return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
          .keyManager(SpiffeTls.keyManager(credential))
          .trustManager(SpiffeTls.trustManager(verifier, expected))
          .protocols("TLSv1.3")
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("cannot build the client TLS context: " + e.getMessage(), e);
    }
  }

  /** A client context that presents no certificate (the agent to the controller, a CA client). */
  public static SslContext client(SvidVerifier verifier, Predicate<SpiffeId> expected) {
    return client(Optional::empty, verifier, expected);
  }

  /**
   * Issues one SVID for {@code identity} now, with a fresh ECDSA P-256 key, living {@code ttl}
   * (zero: the issuer's default): for credentials written to files, as the controller's.
   */
  public static SvidCredential issue(SvidIssuer issuer, CallerIdentity identity, Duration ttl) {
    java.security.KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid = issuer.issue(WorkloadCsr.create(keys), identity, ttl);
    return SvidCredential.of(svid, keys.getPrivate());
  }

  /**
   * An SVID for one of the control plane's own components, issued by a CA held in this process and
   * renewed at half its life; returns once the first certificate is in.
   *
   * @throws IllegalStateException when the first certificate is not issued within 10 seconds
   */
  public static SvidRotator selfIssued(
      SvidIssuer issuer, CallerIdentity identity, ScheduledExecutorService scheduler) {
    SvidRotator rotator = SvidRotator.builder(localSigner(issuer, identity), scheduler).build();
    CountDownLatch first = new CountDownLatch(1);
    rotator.addListener(credential -> first.countDown());
    rotator.start();
    try {
      if (!first.await(10, TimeUnit.SECONDS)) {
        rotator.close();
        throw new IllegalStateException(
            "no certificate for " + identity + " from the local CA within 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      rotator.close();
      throw new IllegalStateException("interrupted while issuing a certificate for " + identity);
    }
    return rotator;
  }

  /**
   * The SPIFFE ID of a call's peer, when it connected over TLS and presented a certificate (which
   * the server's trust manager has verified by then).
   */
  public static Optional<SpiffeId> peerId(Attributes transport) {
    SSLSession session = transport.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return Optional.empty();
      }
      return CertificateFacts.spiffeId(leaf);
    } catch (SSLPeerUnverifiedException noCertificate) {
      return Optional.empty();
    }
  }

  /** The verified client certificate of a call's peer (its leaf), if it presented one. */
  public static Optional<X509Certificate> peerCertificate(Attributes transport) {
    SSLSession session = transport.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf
          ? Optional.of(leaf)
          : Optional.empty();
    } catch (SSLPeerUnverifiedException noCertificate) {
      return Optional.empty();
    }
  }

  /** Whether a call came over TLS at all. */
  public static boolean isTls(Attributes transport) {
    return transport.get(Grpc.TRANSPORT_ATTR_SSL_SESSION) != null;
  }

  /**
   * A signer that issues from a CA held in this process, for the control plane's own components
   * that run beside their cluster's CA (the CA service itself, the agent, the gateway).
   */
  public static CsrSigner localSigner(SvidIssuer issuer, CallerIdentity identity) {
    requireNonNull(issuer, "issuer");
    requireNonNull(identity, "identity");
    return (csrDer, ttl) -> {
      try {
        return CompletableFuture.completedFuture(issuer.issue(csrDer, identity, ttl));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    };
  }
}
