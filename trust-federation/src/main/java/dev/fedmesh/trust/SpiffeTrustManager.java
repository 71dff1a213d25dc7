package dev.fedmesh.trust;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/** Accepts a peer whose chain is a valid SVID of a trusted domain and whose ID is authorized. */
final class SpiffeTrustManager extends X509ExtendedTrustManager {
  private final SvidVerifier verifier;
  private final Predicate<SpiffeId> authorizedPeer;

  SpiffeTrustManager(SvidVerifier verifier, Predicate<SpiffeId> authorizedPeer) {
    this.verifier = verifier;
    this.authorizedPeer = authorizedPeer;
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("peer: no certificate (expected: an X.509-SVID)");
    }
    SpiffeId peer;
    try {
      peer = verifier.verify(List.of(chain));
    } catch (SvidRejectedException e) {
      throw new CertificateException("peer: " + e.getMessage(), e);
    }
    if (!authorizedPeer.test(peer)) {
      throw new CertificateException("peer: " + peer + " is not authorized");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
