package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterName;
import java.time.Duration;

/**
 * How to issue a cluster's intermediate CA: the cluster, key type, lifetime, and whether to
 * constrain it by a URI name constraint to its trust domain.
 */
public record IntermediateSpec(
    ClusterName cluster, KeyAlgorithm keyAlgorithm, Duration validity, boolean nameConstrained) {
  /** One year. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);

  public IntermediateSpec {
    requireNonNull(cluster, "cluster");
    requireNonNull(keyAlgorithm, "keyAlgorithm");
    requireNonNull(validity, "validity");
    if (validity.compareTo(Duration.ofHours(1)) < 0) {
      throw new IllegalArgumentException("validity: " + validity + " (expected: >= 1 hour)");
    }
  }

  /** The defaults: ECDSA P-256, one year, no name constraint. */
  public static IntermediateSpec of(ClusterName cluster) {
    return builder(cluster).build();
  }

  public static Builder builder(ClusterName cluster) {
    return new Builder(cluster);
  }

  /** Builds an {@link IntermediateSpec}; unset fields keep the defaults of {@link #of}. */
  public static final class Builder {
    private final ClusterName cluster;
    private KeyAlgorithm keyAlgorithm = KeyAlgorithm.EC_P256;
    private Duration validity = DEFAULT_VALIDITY;
    private boolean nameConstrained;

    private Builder(ClusterName cluster) {
      this.cluster = requireNonNull(cluster, "cluster");
    }

    public Builder keyAlgorithm(KeyAlgorithm keyAlgorithm) {
      this.keyAlgorithm = requireNonNull(keyAlgorithm, "keyAlgorithm");
      return this;
    }

    public Builder validity(Duration validity) {
      this.validity = requireNonNull(validity, "validity");
      return this;
    }

    public Builder nameConstrained(boolean nameConstrained) {
      this.nameConstrained = nameConstrained;
      return this;
    }

    public IntermediateSpec build() {
      return new IntermediateSpec(cluster, keyAlgorithm, validity, nameConstrained);
    }
  }
}
