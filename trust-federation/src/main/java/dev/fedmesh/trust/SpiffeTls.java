package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.GeneralSecurityException;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Mutual TLS with SPIFFE identities for JSSE (and for Netty, which takes the same managers): the
 * workload presents its current SVID, and accepts a peer whose chain is a valid SVID of a trusted
 * domain and whose ID the authorizer allows. Certificate rotation and bundle changes apply to the
 * next handshake without rebuilding anything.
 */
public final class SpiffeTls {
  private SpiffeTls() {}

  /** A key manager that always presents {@code credential}'s current value. */
  public static X509ExtendedKeyManager keyManager(Supplier<Optional<SvidCredential>> credential) {
    return new SvidKeyManager(requireNonNull(credential, "credential"));
  }

  /**
   * A trust manager for both ends of a connection: the peer's chain must pass {@code verifier},
   * then its SPIFFE ID {@code authorizedPeer}.
   */
  public static X509ExtendedTrustManager trustManager(
      SvidVerifier verifier, Predicate<SpiffeId> authorizedPeer) {
    return new SpiffeTrustManager(
        requireNonNull(verifier, "verifier"), requireNonNull(authorizedPeer, "authorizedPeer"));
  }

  /** A TLS 1.3 context with both managers. */
  public static SSLContext sslContext(
      Supplier<Optional<SvidCredential>> credential,
      SvidVerifier verifier,
      Predicate<SpiffeId> authorizedPeer) {
    try {
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(
          new KeyManager[] {keyManager(credential)},
          new TrustManager[] {trustManager(verifier, authorizedPeer)},
          null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS 1.3 is not available: " + e.getMessage(), e);
    }
  }
}
