package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * A workload's X.509-SVID as issued: its SPIFFE ID and the certificate chain it presents, its own
 * certificate first, then the intermediates (never the root).
 */
public record X509Svid(SpiffeId id, List<X509Certificate> chain) {
  public X509Svid {
    requireNonNull(id, "id");
    chain = List.copyOf(requireNonNull(chain, "chain"));
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("chain: empty (expected: the leaf certificate first)");
    }
  }

  /** Reads the SPIFFE ID from the leaf's one URI SAN. */
  public static X509Svid of(List<X509Certificate> chain) {
    requireNonNull(chain, "chain");
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("chain: empty (expected: the leaf certificate first)");
    }
    List<String> uris = CertificateFacts.uris(chain.get(0));
    if (uris.size() != 1) {
      throw new IllegalArgumentException(
          "chain[0].subjectAltName: " + uris.size() + " URIs (expected: exactly one SPIFFE ID)");
    }
    return new X509Svid(SpiffeId.parse(uris.get(0)), chain);
  }

  public X509Certificate leaf() {
    return chain.get(0);
  }

  public Instant notBefore() {
    return leaf().getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  /** The chain as PEM, leaf first. */
  public String pem() {
    return Pem.encode(chain);
  }
}
