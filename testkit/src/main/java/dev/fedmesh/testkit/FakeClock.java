package dev.fedmesh.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Time that moves only when a test says so, with a scheduler whose tasks run, on the test's thread,
 * when their time comes. Inspired by grpc-java's FakeClock: code under test takes a {@link
 * #nanoTime()} source and a {@link #scheduler()}, and the test calls {@link #forward}.
 */
public final class FakeClock {
  private final PriorityQueue<Task> queue = new PriorityQueue<>();
  private final Instant origin = Instant.parse("2026-01-01T00:00:00Z");
  private long nanos;
  private long sequence;
  private final ScheduledExecutorService scheduler = new Scheduler();

  /** The fake {@link System#nanoTime()}. */
  public LongSupplier nanoTime() {
    return () -> nanos;
  }

  /** A wall clock that reads the same fake time. */
  public Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return origin.plusNanos(nanos);
      }
    };
  }

  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** Runs the tasks due now (including tasks they schedule for now); returns how many ran. */
  public synchronized int runDueTasks() {
    int ran = 0;
    while (!queue.isEmpty() && queue.peek().due <= nanos) {
      Task task = queue.poll();
      if (task.cancelled) {
        continue;
      }
      task.run();
      ran++;
    }
    return ran;
  }

  /** Moves time forward, running every task that falls due on the way, in time order. */
  public synchronized void forward(Duration duration) {
    long target = nanos + duration.toNanos();
    while (true) {
      runDueTasks();
      Task next = queue.peek();
      if (next == null || next.due > target) {
        break;
      }
      nanos = next.due;
    }
    nanos = target;
    runDueTasks();
  }

  /** Tasks scheduled and not yet run or cancelled. */
  public synchronized int pendingTasks() {
    return (int) queue.stream().filter(task -> !task.cancelled).count();
  }

  private synchronized Task enqueue(Runnable command, long delayNanos, long periodNanos) {
    Task task = new Task(command, nanos + Math.max(0, delayNanos), periodNanos, sequence++);
    queue.add(task);
    return task;
  }

  private final class Task implements ScheduledFuture<Object> {
    private final Runnable command;
    private long due;
    private final long period;
    private final long order;
    private volatile boolean cancelled;
    private volatile boolean done;

    Task(Runnable command, long due, long period, long order) {
      this.command = command;
      this.due = due;
      this.period = period;
      this.order = order;
    }

    void run() {
      command.run();
      if (period > 0 && !cancelled) {
        due = nanos + period;
        queue.add(this);
      } else {
        done = true;
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      Task that = (Task) other;
      int byDue = Long.compare(due, that.due);
      return byDue != 0 ? byDue : Long.compare(order, that.order);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean wasPending = !done && !cancelled;
      cancelled = true;
      return wasPending;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() {
      if (!isDone()) {
        throw new IllegalStateException("a fake-clock task completes only when time moves");
      }
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return get();
    }
  }

  private final class Scheduler extends AbstractExecutorService
      implements ScheduledExecutorService {
    private volatile boolean shutdown;

    @Override
    public void execute(Runnable command) {
      enqueue(command, 0, 0);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      return enqueue(command, unit.toNanos(delay), 0);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      throw new UnsupportedOperationException("schedule a Runnable");
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(
        Runnable command, long initialDelay, long period, TimeUnit unit) {
      return enqueue(command, unit.toNanos(initialDelay), unit.toNanos(period));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(
        Runnable command, long initialDelay, long delay, TimeUnit unit) {
      return enqueue(command, unit.toNanos(initialDelay), unit.toNanos(delay));
    }

    @Override
    public void shutdown() {
      shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
      shutdown = true;
      return new ArrayList<>();
    }

    @Override
    public boolean isShutdown() {
      return shutdown;
    }

    @Override
    public boolean isTerminated() {
      return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return shutdown;
    }
  }
}
