package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * When a workload renews its certificate: at {@code renewAt} of its lifetime (half by default),
 * earlier by a random part of up to {@code jitter} of the lifetime so a fleet does not renew at
 * once; after a failure, again after an exponential backoff between {@code backoffBase} and {@code
 * backoffMax}. A request not answered within {@code requestTimeout} counts as failed.
 */
public record RotationPolicy(
    double renewAt,
    double jitter,
    Duration backoffBase,
    Duration backoffMax,
    Duration requestTimeout) {
  public RotationPolicy {
    requireNonNull(backoffBase, "backoffBase");
    requireNonNull(backoffMax, "backoffMax");
    requireNonNull(requestTimeout, "requestTimeout");
    if (!(renewAt > 0 && renewAt < 1)) {
      throw new IllegalArgumentException("renewAt: " + renewAt + " (expected: > 0 and < 1)");
    }
    if (!(jitter >= 0 && jitter < renewAt)) {
      throw new IllegalArgumentException(
          "jitter: " + jitter + " (expected: >= 0 and < renewAt " + renewAt + ")");
    }
    if (backoffBase.isNegative() || backoffBase.isZero()) {
      throw new IllegalArgumentException("backoffBase: " + backoffBase + " (expected: > 0)");
    }
    if (backoffMax.compareTo(backoffBase) < 0) {
      throw new IllegalArgumentException(
          "backoffMax: " + backoffMax + " (expected: >= backoffBase " + backoffBase + ")");
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("requestTimeout: " + requestTimeout + " (expected: > 0)");
    }
  }

  /** Renew at half life, up to 10% earlier, retry from 1 s to 2 min, time out after 30 s. */
  public static RotationPolicy of() {
    return new RotationPolicy(
        0.5, 0.1, Duration.ofSeconds(1), Duration.ofMinutes(2), Duration.ofSeconds(30));
  }

  public RotationPolicy withRenewAt(double renewAt, double jitter) {
    return new RotationPolicy(renewAt, jitter, backoffBase, backoffMax, requestTimeout);
  }

  public RotationPolicy withBackoff(Duration backoffBase, Duration backoffMax) {
    return new RotationPolicy(renewAt, jitter, backoffBase, backoffMax, requestTimeout);
  }

  public RotationPolicy withRequestTimeout(Duration requestTimeout) {
    return new RotationPolicy(renewAt, jitter, backoffBase, backoffMax, requestTimeout);
  }
}
