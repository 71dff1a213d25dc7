package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * A cluster's signing CA, as in Istio's {@code cacerts}: its certificate and key, any intermediates
 * between it and the root, and the roots workloads should trust. The cluster signs its own
 * workloads with it, so it keeps working while the global controller is away.
 */
public record ClusterCa(
    TrustDomain trustDomain,
    X509Certificate certificate,
    PrivateKey key,
    List<X509Certificate> intermediates,
    List<X509Certificate> roots) {
  public ClusterCa {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(certificate, "certificate");
    requireNonNull(key, "key");
    intermediates = List.copyOf(requireNonNull(intermediates, "intermediates"));
    roots = List.copyOf(requireNonNull(roots, "roots"));
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("roots: empty (expected: at least one root certificate)");
    }
  }

  /** The chain workloads present after their own certificate: this CA, then its intermediates. */
  public List<X509Certificate> chain() {
    List<X509Certificate> chain = new ArrayList<>(intermediates.size() + 1);
    chain.add(certificate);
    chain.addAll(intermediates);
    return List.copyOf(chain);
  }

  /**
   * Istio's {@code cert-chain.pem}: this CA, its intermediates, and the root that signed the last
   * of them when it is among {@link #roots()}.
   */
  public List<X509Certificate> certChain() {
    List<X509Certificate> chain = new ArrayList<>(chain());
    X509Certificate top = chain.get(chain.size() - 1);
    for (X509Certificate root : roots) {
      if (!root.equals(top) && CertificateFacts.issuedBy(top, root)) {
        chain.add(root);
        break;
      }
    }
    return List.copyOf(chain);
  }

  /** The roots of this cluster's trust domain, as a bundle. */
  public TrustBundle trustBundle() {
    return TrustBundle.of(trustDomain, roots);
  }

  /** The same CA with another set of roots to hand out, e.g. old and new during a root rotation. */
  public ClusterCa withRoots(List<X509Certificate> roots) {
    return new ClusterCa(trustDomain, certificate, key, intermediates, roots);
  }

  /** Names the CA, never its key. */
  @Override
  public String toString() {
    return "ClusterCa["
        + trustDomain
        + ", "
        + certificate.getSubjectX500Principal().getName()
        + ", "
        + roots.size()
        + " root(s)]";
  }
}
