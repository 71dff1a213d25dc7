package dev.fedmesh.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.X509Svid;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.svid.x509svid.X509SvidValidator;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.HashSet;

/** java-spiffe-core's verdict on an SVID issued over the CA service. */
final class SpiffeLibrary {
  private SpiffeLibrary() {}

  static void assertAccepted(X509Svid svid, KeyPair keys, TrustBundle bundle) {
    try {
      io.spiffe.svid.x509svid.X509Svid parsed =
          io.spiffe.svid.x509svid.X509Svid.parse(
              svid.pem().getBytes(StandardCharsets.US_ASCII),
              Pem.encode(keys.getPrivate()).getBytes(StandardCharsets.US_ASCII));
      assertThat(parsed.getSpiffeId().toString()).isEqualTo(svid.id().uri());
      X509SvidValidator.verifyChain(
          parsed.getChain(),
          new X509Bundle(
              io.spiffe.spiffeid.TrustDomain.parse(bundle.trustDomain().name()),
              new HashSet<>(bundle.roots())));
    } catch (Exception e) {
      throw new AssertionError("java-spiffe-core rejects " + svid.id() + ": " + e, e);
    }
  }
}
