package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Merges a burst of changes into one action: it runs once no change has come for the quiet period,
 * or once the oldest unhandled change is {@code maxDelay} old, so a source that never stops
 * changing is still reported at least every {@code maxDelay}.
 *
 * <p>Not thread-safe: call {@link #signal()} and {@link #cancel()} on {@code executor}, where the
 * action runs.
 */
public final class Debouncer {
  private final ScheduledExecutorService executor;
  private final LongSupplier nanoTime;
  private final long quietNanos;
  private final long maxDelayNanos;
  private final Runnable action;

  private long firstSignal;
  private long lastSignal;
  private boolean signalled;
  private ScheduledFuture<?> pending;

  public Debouncer(
      ScheduledExecutorService executor,
      LongSupplier nanoTime,
      Duration quiet,
      Duration maxDelay,
      Runnable action) {
    this.executor = requireNonNull(executor, "executor");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.action = requireNonNull(action, "action");
    if (quiet.isNegative()) {
      throw new IllegalArgumentException("quiet: " + quiet + " (expected: >= 0)");
    }
    if (maxDelay.compareTo(quiet) < 0) {
      throw new IllegalArgumentException(
          "maxDelay: " + maxDelay + " (expected: >= the quiet period " + quiet + ")");
    }
    this.quietNanos = quiet.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
  }

  /** Notes a change: the action runs after the quiet period, or at the latest after maxDelay. */
  public void signal() {
    long now = nanoTime.getAsLong();
    if (!signalled) {
      signalled = true;
      firstSignal = now;
    }
    lastSignal = now;
    if (pending == null) {
      schedule(quietNanos);
    }
  }

  /** Forgets pending changes; the action does not run for them. */
  public void cancel() {
    signalled = false;
    if (pending != null) {
      pending.cancel(false);
      pending = null;
    }
  }

  private void schedule(long delayNanos) {
    pending = executor.schedule(this::check, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
  }

  private void check() {
    pending = null;
    if (!signalled) {
      return;
    }
    long now = nanoTime.getAsLong();
    long quietDue = lastSignal + quietNanos;
    long maxDue = firstSignal + maxDelayNanos;
    if (now - quietDue >= 0 || now - maxDue >= 0) {
      signalled = false;
      action.run();
      return;
    }
    schedule(Math.min(quietDue - now, maxDue - now));
  }
}
