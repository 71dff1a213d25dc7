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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
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
   * A client context: accepts a server whose SVID passes {@code verifier} and is {@code server};
   * presents {@code credential} when it holds one (empty: no client certificate).
   */
  public static SslContext client(
      Supplier<Optional<SvidCredential>> credential, SvidVerifier verifier, SpiffeId server) {
    requireNonNull(credential, "credential");
    requireNonNull(verifier, "verifier");
    requireNonNull(server, "server");
    Predicate<SpiffeId> expected = server::equals;
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
  public static SslContext client(SvidVerifier verifier, SpiffeId server) {
    return client(Optional::empty, verifier, server);
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
