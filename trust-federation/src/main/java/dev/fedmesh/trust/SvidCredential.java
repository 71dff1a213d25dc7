package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.PrivateKey;

/** What a workload holds to prove its identity: its SVID and the private key that never left it. */
public record SvidCredential(X509Svid svid, PrivateKey privateKey) {
  public SvidCredential {
    requireNonNull(svid, "svid");
    requireNonNull(privateKey, "privateKey");
  }

  public static SvidCredential of(X509Svid svid, PrivateKey privateKey) {
    return new SvidCredential(svid, privateKey);
  }

  /** Names the identity, never the key. */
  @Override
  public String toString() {
    return "SvidCredential[" + svid.id() + ", valid until " + svid.notAfter() + "]";
  }
}
