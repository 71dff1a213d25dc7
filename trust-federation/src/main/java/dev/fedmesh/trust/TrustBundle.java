package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The root certificates of one trust domain. It holds several roots while a root rotation is under
 * way: certificates that chain to any of them are trusted.
 */
public record TrustBundle(TrustDomain trustDomain, List<X509Certificate> roots) {
  public TrustBundle {
    requireNonNull(trustDomain, "trustDomain");
    roots = List.copyOf(requireNonNull(roots, "roots"));
    if (roots.isEmpty()) {
      throw new IllegalArgumentException(
          "trustBundle(" + trustDomain + ").roots: empty (expected: at least one root)");
    }
    for (X509Certificate root : roots) {
      if (!CertificateFacts.isCa(root)) {
        throw new IllegalArgumentException(
            "trustBundle("
                + trustDomain
                + ").roots: '"
                + CertificateFacts.label(root)
                + "' is not a CA (expected: CA certificates)");
      }
    }
  }

  public static TrustBundle of(TrustDomain trustDomain, List<X509Certificate> roots) {
    return new TrustBundle(trustDomain, roots);
  }

  public static TrustBundle of(TrustDomain trustDomain, X509Certificate... roots) {
    return new TrustBundle(trustDomain, List.of(roots));
  }

  /** This bundle with {@code root} added (no change if it is already there). */
  public TrustBundle withRoot(X509Certificate root) {
    requireNonNull(root, "root");
    if (roots.contains(root)) {
      return this;
    }
    List<X509Certificate> more = new ArrayList<>(roots);
    more.add(root);
    return new TrustBundle(trustDomain, more);
  }

  /** This bundle without {@code root}; refuses to remove the last root. */
  public TrustBundle withoutRoot(X509Certificate root) {
    requireNonNull(root, "root");
    List<X509Certificate> fewer = new ArrayList<>(roots);
    fewer.remove(root);
    return new TrustBundle(trustDomain, fewer);
  }

  public boolean contains(X509Certificate certificate) {
    return roots.contains(certificate);
  }
}
