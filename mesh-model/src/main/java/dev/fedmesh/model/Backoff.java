package dev.fedmesh.model;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter (AWS architecture blog's "full jitter"): the n-th retry
 * waits a random time in [0, min(max, base * 2^n)], so agents that lost the same controller do not
 * all come back in the same instant.
 */
public final class Backoff {
  private final Duration base;
  private final Duration max;
  private final RandomGenerator random;
  private int attempt;

  public Backoff(Duration base, Duration max, RandomGenerator random) {
    if (base.isNegative() || base.isZero()) {
      throw new IllegalArgumentException("base: " + base + " (expected: > 0)");
    }
    if (max.compareTo(base) < 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: >= base " + base + ")");
    }
    this.base = base;
    this.max = max;
    this.random = random;
  }

  /** The wait before the next attempt. */
  public Duration next() {
    long ceiling = base.toMillis() << Math.min(attempt, 20);
    ceiling = Math.min(ceiling, max.toMillis());
    attempt++;
    return Duration.ofMillis(random.nextLong(ceiling + 1));
  }

  /** After a success: the next failure starts from the base again. */
  public void reset() {
    attempt = 0;
  }
}
