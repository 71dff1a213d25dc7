package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How long the certificates a cluster CA issues live: the default and maximum lifetime a workload
 * may ask for, and how far the start is backdated so peers with slow clocks accept them at once.
 */
public record SvidPolicy(Duration defaultTtl, Duration maxTtl, Duration backdate) {
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);
  public static final Duration DEFAULT_BACKDATE = Duration.ofMinutes(1);

  public SvidPolicy {
    requireNonNull(defaultTtl, "defaultTtl");
    requireNonNull(maxTtl, "maxTtl");
    requireNonNull(backdate, "backdate");
    // Seconds-long lifetimes are for rotation drills (chaos tests, the lab); production uses hours.
    if (defaultTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("defaultTtl: " + defaultTtl + " (expected: >= 1 second)");
    }
    if (maxTtl.compareTo(defaultTtl) < 0) {
      throw new IllegalArgumentException(
          "maxTtl: " + maxTtl + " (expected: >= defaultTtl " + defaultTtl + ")");
    }
    if (backdate.isNegative() || backdate.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException(
          "backdate: " + backdate + " (expected: between 0 and 1 hour)");
    }
  }

  /** 24 hours by default and at most, backdated by one minute. */
  public static SvidPolicy of() {
    return new SvidPolicy(DEFAULT_TTL, DEFAULT_TTL, DEFAULT_BACKDATE);
  }

  public static SvidPolicy of(Duration defaultTtl, Duration maxTtl) {
    return new SvidPolicy(defaultTtl, maxTtl, DEFAULT_BACKDATE);
  }
}
