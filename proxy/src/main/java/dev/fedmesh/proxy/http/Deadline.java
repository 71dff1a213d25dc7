package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A timer for a deadline that is set and cleared far more often than it passes: a connection's
 * route, per-try and header timeouts, set anew for each request on it, and its idle timeout, set
 * anew on each read and flush. Setting one only moves the deadline. A single wake-up is scheduled
 * when none is pending (or when the new deadline comes before it); a wake-up that comes early is
 * moved on to the deadline, and one that finds nothing set is dropped. So the requests of a
 * keep-alive connection put no timer of their own into the event loop's queue: scheduling and
 * cancelling one per request cost ~1% of a sidecar's CPU.
 *
 * <p>Used on its event loop only.
 */
final class Deadline {
  private final EventExecutor executor;
  private final Runnable wake = this::wake;
  private ScheduledFuture<?> pending;
  private long pendingAt;
  private long at;
  private Runnable action;

  Deadline(EventExecutor executor) {
    this.executor = requireNonNull(executor, "executor");
  }

  /** Runs {@code action} once {@code delay} has passed, unless cleared or set again before. */
  void set(long delay, TimeUnit unit, Runnable action) {
    long nanos = Math.max(0, unit.toNanos(delay));
    this.action = requireNonNull(action, "action");
    this.at = executor.ticker().nanoTime() + nanos;
    if (pending != null && at - pendingAt < 0) {
      pending.cancel(false); // the new deadline comes first
      pending = null;
    }
    if (pending == null) {
      pendingAt = at;
      pending = executor.schedule(wake, nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** Whether an action waits for its deadline. */
  boolean isSet() {
    return action != null;
  }

  /** Clears the deadline if {@code action} is the one set: another owner's stays. */
  void clear(Runnable action) {
    if (this.action == action) {
      this.action = null;
    }
  }

  /** Clears whatever is set and cancels the wake-up: its owner is gone. */
  void stop() {
    action = null;
    if (pending != null) {
      pending.cancel(false);
      pending = null;
    }
  }

  private void wake() {
    pending = null;
    Runnable due = action;
    if (due == null) {
      return;
    }
    long remaining = at - executor.ticker().nanoTime();
    if (remaining > 0) {
      pendingAt = at;
      pending = executor.schedule(wake, remaining, TimeUnit.NANOSECONDS);
      return;
    }
    action = null;
    due.run();
  }
}
