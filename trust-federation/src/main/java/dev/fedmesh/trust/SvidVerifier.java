package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

/**
 * Decides whether a presented chain is a valid X.509-SVID: the SPIFFE leaf and CA rules, then a
 * path to a root of the bundle of the trust domain the leaf claims.
 */
public interface SvidVerifier {
  /** A verifier that reads the current bundles on every call, so bundle updates apply at once. */
  static SvidVerifier of(Supplier<TrustBundleSet> bundles, Clock clock) {
    return new BundleVerifier(requireNonNull(bundles, "bundles"), requireNonNull(clock, "clock"));
  }

  static SvidVerifier of(TrustBundleSet bundles, Clock clock) {
    requireNonNull(bundles, "bundles");
    return of(() -> bundles, clock);
  }

  /**
   * The chain's SPIFFE ID when it is valid.
   *
   * @throws SvidRejectedException listing every problem otherwise
   */
  SpiffeId verify(List<X509Certificate> chain);

  /** Every problem with the chain; empty when it is valid. */
  List<String> problems(List<X509Certificate> chain);
}
