package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How to generate a root CA: its trust domain, key type, lifetime and whether it carries the trust
 * domain's SPIFFE ID ({@code spiffe://<td>}, no path) as a URI SAN.
 */
public record RootCaSpec(
    TrustDomain trustDomain, KeyAlgorithm keyAlgorithm, Duration validity, boolean spiffeId) {
  /** Ten years. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(3650);

  public RootCaSpec {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(keyAlgorithm, "keyAlgorithm");
    requireNonNull(validity, "validity");
    if (validity.compareTo(Duration.ofHours(1)) < 0) {
      throw new IllegalArgumentException("validity: " + validity + " (expected: >= 1 hour)");
    }
  }

  /** The defaults: ECDSA P-256, ten years, with the trust domain's SPIFFE ID. */
  public static RootCaSpec of(TrustDomain trustDomain) {
    return builder(trustDomain).build();
  }

  public static Builder builder(TrustDomain trustDomain) {
    return new Builder(trustDomain);
  }

  /** Builds a {@link RootCaSpec}; unset fields keep the defaults of {@link #of}. */
  public static final class Builder {
    private final TrustDomain trustDomain;
    private KeyAlgorithm keyAlgorithm = KeyAlgorithm.EC_P256;
    private Duration validity = DEFAULT_VALIDITY;
    private boolean spiffeId = true;

    private Builder(TrustDomain trustDomain) {
      this.trustDomain = requireNonNull(trustDomain, "trustDomain");
    }

    public Builder keyAlgorithm(KeyAlgorithm keyAlgorithm) {
      this.keyAlgorithm = requireNonNull(keyAlgorithm, "keyAlgorithm");
      return this;
    }

    public Builder validity(Duration validity) {
      this.validity = requireNonNull(validity, "validity");
      return this;
    }

    public Builder spiffeId(boolean spiffeId) {
      this.spiffeId = spiffeId;
      return this;
    }

    public RootCaSpec build() {
      return new RootCaSpec(trustDomain, keyAlgorithm, validity, spiffeId);
    }
  }
}
