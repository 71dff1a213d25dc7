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
