package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The bundles a workload trusts, by trust domain: its own and those of federated trust domains. A
 * peer is checked against the bundle of the trust domain its certificate claims, and only that one.
 */
public record TrustBundleSet(Map<TrustDomain, TrustBundle> bundles) {
  public TrustBundleSet {
    requireNonNull(bundles, "bundles");
    bundles.forEach(
        (domain, bundle) -> {
          if (!bundle.trustDomain().equals(domain)) {
            throw new IllegalArgumentException(
                "bundles["
                    + domain
                    + "]: a bundle of "
                    + bundle.trustDomain()
                    + " (expected: of "
                    + domain
                    + ")");
          }
        });
    bundles = Map.copyOf(bundles);
  }

  public static TrustBundleSet of(TrustBundle... bundles) {
    return of(java.util.List.of(bundles));
  }

  public static TrustBundleSet of(Collection<TrustBundle> bundles) {
    Map<TrustDomain, TrustBundle> byDomain = new TreeMap<>();
    for (TrustBundle bundle : bundles) {
      if (byDomain.put(bundle.trustDomain(), bundle) != null) {
        throw new IllegalArgumentException(
            "bundles: two bundles for " + bundle.trustDomain() + " (expected: one per domain)");
      }
    }
    return new TrustBundleSet(byDomain);
  }

  /**
   * The roots in a PEM text, grouped by the trust domain each names in its URI SAN.
   *
   * @param source names the text in errors (a file name, a field)
   * @throws IllegalArgumentException naming {@code source} when it holds no certificate or a root
   *     without a SPIFFE trust domain
   */
  public static TrustBundleSet ofRootsPem(String pem, String source) {
    Map<TrustDomain, java.util.List<java.security.cert.X509Certificate>> byDomain = new TreeMap<>();
    for (java.security.cert.X509Certificate root : Pem.certificates(pem, source)) {
      TrustDomain domain =
          RootCa.trustDomainOf(root)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          source
                              + ": "
                              + root.getSubjectX500Principal()
                              + " has no SPIFFE trust domain (expected: a URI SAN spiffe://<td>)"));
      byDomain.computeIfAbsent(domain, d -> new java.util.ArrayList<>()).add(root);
    }
    java.util.List<TrustBundle> bundles = new java.util.ArrayList<>();
    byDomain.forEach((domain, roots) -> bundles.add(TrustBundle.of(domain, roots)));
    return of(bundles);
  }

  /** The bundle of {@code trustDomain}, if it is trusted at all. */
  public Optional<TrustBundle> bundle(TrustDomain trustDomain) {
    return Optional.ofNullable(bundles.get(requireNonNull(trustDomain, "trustDomain")));
  }

  /** This set with {@code bundle} added, or replacing the bundle of its trust domain. */
  public TrustBundleSet with(TrustBundle bundle) {
    requireNonNull(bundle, "bundle");
    Map<TrustDomain, TrustBundle> copy = new TreeMap<>(bundles);
    copy.put(bundle.trustDomain(), bundle);
    return new TrustBundleSet(copy);
  }

  /** This set without the bundle of {@code trustDomain}: its workloads are no longer trusted. */
  public TrustBundleSet without(TrustDomain trustDomain) {
    Map<TrustDomain, TrustBundle> copy = new TreeMap<>(bundles);
    copy.remove(requireNonNull(trustDomain, "trustDomain"));
    return new TrustBundleSet(copy);
  }

  public SortedSet<TrustDomain> trustDomains() {
    return new TreeSet<>(bundles.keySet());
  }
}
