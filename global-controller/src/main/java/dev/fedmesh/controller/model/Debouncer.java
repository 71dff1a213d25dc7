package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Merges bursts of changes into one action: it fires once no change has come for the quiet period,
 * or once the first unhandled change is {@code maxDelay} old, whichever is first. A steady stream
 * of changes thus still publishes at least every {@code maxDelay}.
 *
 * <p>Not thread-safe: {@link #signal()} must be called on {@code executor}, where the action runs.
 */
public final class Debouncer {
  private final ScheduledExecutorService executor;
  private final LongSupplier nanoTime;
  private final long quietNanos;
  private final long maxDelayNanos;
  private final Runnable action;

  private long firstSignal = -1;
  private long lastSignal;
  private ScheduledFuture<?> pending;

  public Debouncer(
      ScheduledExecutorService executor,
      LongSupplier nanoTime,
      Duration quiet,
      Duration maxDelay,
      Runnable action) {
    this.executor = requireNonNull(executor, "executor");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.quietNanos = quiet.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
    this.action = requireNonNull(action, "action");
    if (quiet.isNegative() || maxDelay.compareTo(quiet) < 0) {
      throw new IllegalArgumentException(
          "maxDelay: " + maxDelay + " (expected: >= quiet period " + quiet + ")");
    }
  }

  /** Notes a change; the action will run after the quiet period or the maximum delay. */
  public void signal() {
    long now = nanoTime.getAsLong();
    if (firstSignal < 0) {
      firstSignal = now;
    }
    lastSignal = now;
    if (pending == null) {
      schedule(quietNanos);
    }
  }

  private void schedule(long delayNanos) {
    pending = executor.schedule(this::check, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
  }

  private void check() {
    pending = null;
    if (firstSignal < 0) {
      return;
    }
    long now = nanoTime.getAsLong();
    long quietDue = lastSignal + quietNanos;
    long maxDue = firstSignal + maxDelayNanos;
    if (now - quietDue >= 0 || now - maxDue >= 0) {
      firstSignal = -1;
      action.run();
      return;
    }
    schedule(Math.min(quietDue, maxDue) - now);
  }
}
