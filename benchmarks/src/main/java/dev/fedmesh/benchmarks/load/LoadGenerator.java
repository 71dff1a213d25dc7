package dev.fedmesh.benchmarks.load;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives request/response traffic over keep-alive connections from one event loop, one request in
 * flight per connection.
 *
 * <p>Open loop: a pacer thread schedules request {@code i} at {@code start + i / rate} whatever
 * happened before, and its latency is measured from that scheduled time, not from when it could be
 * written. A request that finds every connection busy waits in a backlog and that wait counts too,
 * so a stalled proxy shows in the percentiles instead of slowing the load down (no coordinated
 * omission).
 *
 * <p>Closed loop: every connection sends its next request as soon as the previous answer arrives,
 * which measures the most the path can carry.
 */
final class LoadGenerator implements AutoCloseable {
  /** What runs on the connections. */
  interface Protocol {
    /** Adds the handlers of a new connection; they call {@code connection.answered(ok)}. */
    void init(Channel channel, Connection connection);

    /** Completes when the connection can carry requests (after a TLS handshake, say). */
    Future<?> ready(Channel channel);

    /** Writes and flushes one request. */
    void send(Channel channel);
  }

  /** A run's figures; latencies in nanoseconds. */
  record Result(
      LatencySamples latency,
      LatencySamples sendLag,
      long scheduled,
      long ok,
      long errors,
      Map<String, Long> errorKinds,
      long elapsedNanos) {
    double perSecond() {
      return ok * 1e9 / elapsedNanos;
    }
  }

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("load", true), NioIoHandler.newFactory());
  private final EventLoop loop = group.next();
  private final InetSocketAddress target;
  private final Protocol protocol;
  private final Bootstrap bootstrap;

  // Everything below is touched on the event loop only.
  private final ArrayDeque<Connection> idle = new ArrayDeque<>();
  private final List<Connection> all = new ArrayList<>();
  private final ArrayDeque<Long> backlog = new ArrayDeque<>();
  private Run run;
  private volatile boolean closing;

  LoadGenerator(InetSocketAddress target, Protocol protocol) {
    this.target = requireNonNull(target, "target");
    this.protocol = requireNonNull(protocol, "protocol");
    this.bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000);
  }

  /** One connection and its request in flight. */
  final class Connection {
    private Channel channel;
    private long scheduledAt;
    private boolean busy;
    private Runnable onAnswer;
    private boolean retired;

    /** Called by the protocol's handler for each good answer. */
    void answered() {
      answered(null);
    }

    /** Called by the protocol's handler for each answer; {@code failure} says what was wrong. */
    void answered(String failure) {
      if (!busy) {
        return; // an answer nobody asked for: ignore it rather than miscount
      }
      busy = false;
      if (onAnswer != null) {
        Runnable callback = onAnswer;
        onAnswer = null;
        callback.run();
        return;
      }
      LoadGenerator.this.answered(this, failure);
    }

    /** Called by the protocol's handler when the connection closes. */
    void closed() {
      all.remove(this);
      idle.remove(this);
      if (busy) {
        busy = false;
        if (run != null) {
          run.finished("connection closed with a request in flight", 0);
        }
      }
      // Replaced even between runs: a proxy may close a keep-alive connection that sat idle.
      if (!closing && !retired) {
        replace();
      }
    }

    private void send(long scheduled) {
      scheduledAt = scheduled;
      busy = true;
      if (run != null) {
        run.sendLag(System.nanoTime() - scheduled);
      }
      protocol.send(channel);
    }
  }

  /** Opens {@code count} connections and waits until all are ready. */
  void connect(int count) throws InterruptedException {
    List<CompletableFuture<Connection>> opening = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      opening.add(open());
    }
    for (CompletableFuture<Connection> future : opening) {
      Connection connection = future.join();
      loop.submit(
              () -> {
                all.add(connection);
                idle.add(connection);
              })
          .sync();
    }
  }

  private CompletableFuture<Connection> open() {
    CompletableFuture<Connection> opened = new CompletableFuture<>();
    Connection connection = new Connection();
    bootstrap
        .clone()
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                connection.channel = ch;
                protocol.init(ch, connection);
              }
            })
        .connect(target)
        .addListener(
            connect -> {
              if (!connect.isSuccess()) {
                opened.completeExceptionally(connect.cause());
                return;
              }
              protocol
                  .ready(connection.channel)
                  .addListener(
                      ready -> {
                        if (ready.isSuccess()) {
                          opened.complete(connection);
                        } else {
                          connection.channel.close();
                          opened.completeExceptionally(ready.cause());
                        }
                      });
            });
    return opened;
  }

  private void replace() {
    open()
        .whenComplete(
            (connection, failure) ->
                loop.execute(
                    () -> {
                      if (failure != null) {
                        return; // the run goes on with fewer connections; errors show it
                      }
                      all.add(connection);
                      Long next = backlog.poll();
                      if (next != null) {
                        connection.send(next);
                      } else if (run != null && run.closedLoop && run.active()) {
                        connection.send(System.nanoTime());
                      } else {
                        idle.add(connection);
                      }
                    }));
  }

  private void answered(Connection connection, String failure) {
    long now = System.nanoTime();
    Run current = run;
    if (current != null) {
      current.finished(failure, now - connection.scheduledAt);
    }
    Long next = backlog.poll();
    if (next != null) {
      connection.send(next);
    } else if (current != null && current.closedLoop && now < current.end) {
      connection.send(now);
    } else {
      idle.add(connection);
    }
  }

  /**
   * Sends {@code rate} requests per second for {@code duration}, then waits up to 5 s for the
   * answers still outstanding; those that never come count as errors.
   */
  Result openLoop(int rate, Duration duration) throws InterruptedException {
    long period = 1_000_000_000L / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    long end = start + duration.toNanos();
    Run current = new Run(false, end);
    loop.submit(() -> run = current).sync();
    long scheduled = 0;
    for (long at = start; at < end; at = start + (++scheduled) * period) {
      long wait = at - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      long sendAt = at;
      loop.execute(() -> dispatch(sendAt));
    }
    return finish(current, scheduled, start);
  }

  /** Every connection sends back to back for {@code duration}. */
  Result closedLoop(Duration duration) throws InterruptedException {
    long start = System.nanoTime();
    Run current = new Run(true, start + duration.toNanos());
    loop.submit(
            () -> {
              run = current;
              while (!idle.isEmpty()) {
                idle.poll().send(System.nanoTime());
              }
            })
        .sync();
    long wait = current.end - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
    return finish(current, -1, start);
  }

  private Result finish(Run current, long scheduled, long start) throws InterruptedException {
    long deadline = current.end + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      boolean drained =
          loop.submit(() -> backlog.isEmpty() && all.stream().noneMatch(c -> c.busy))
              .sync()
              .getNow();
      if (drained) {
        break;
      }
      Thread.sleep(10);
    }
    return loop.submit(
            () -> {
              run = null;
              long lost = backlog.size() + all.stream().filter(c -> c.busy).count();
              backlog.clear();
              if (lost > 0) {
                current.errorKinds.merge("unanswered 5 s after the run", lost, Long::sum);
              }
              long sent = scheduled >= 0 ? scheduled : current.ok + current.errors + lost;
              return new Result(
                  current.latency,
                  current.sendLag,
                  sent,
                  current.ok,
                  current.errors + lost,
                  Map.copyOf(current.errorKinds),
                  Math.min(System.nanoTime(), current.end) - start);
            })
        .sync()
        .getNow();
  }

  private void dispatch(long scheduled) {
    Connection connection = idle.poll();
    if (connection == null) {
      backlog.add(scheduled);
    } else {
      connection.send(scheduled);
    }
  }

  /**
   * Opens a fresh connection, sends one request on it and closes it; returns the nanoseconds from
   * the connect call to the answer: TCP, the TLS handshake if the protocol has one, one exchange.
   * Returns -1 when the connection, its handshake or its exchange failed.
   */
  long connectionSetup() throws InterruptedException {
    long start = System.nanoTime();
    Connection connection;
    try {
      connection = open().join();
    } catch (java.util.concurrent.CompletionException refused) {
      return -1;
    }
    CompletableFuture<Long> answered = new CompletableFuture<>();
    loop.execute(
        () -> {
          connection.onAnswer = () -> answered.complete(System.nanoTime());
          connection.send(start);
        });
    long elapsed;
    try {
      elapsed = answered.orTimeout(10, TimeUnit.SECONDS).join() - start;
    } catch (java.util.concurrent.CompletionException unanswered) {
      elapsed = -1;
    }
    loop.submit(() -> connection.retired = true).sync();
    connection.channel.close().sync();
    return elapsed;
  }

  @Override
  public void close() {
    closing = true;
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** The tallies of one run, on the event loop. */
  private static final class Run {
    final boolean closedLoop;
    final long end;
    final LatencySamples latency = new LatencySamples();
    final LatencySamples sendLag = new LatencySamples();
    long ok;
    long errors;
    final Map<String, Long> errorKinds = new TreeMap<>();

    Run(boolean closedLoop, long end) {
      this.closedLoop = closedLoop;
      this.end = end;
    }

    boolean active() {
      return System.nanoTime() < end;
    }

    void sendLag(long nanos) {
      sendLag.record(nanos);
    }

    void finished(String failure, long nanos) {
      if (failure == null) {
        ok++;
        latency.record(nanos);
      } else {
        errors++;
        errorKinds.merge(failure, 1L, Long::sum);
      }
    }
  }
}
