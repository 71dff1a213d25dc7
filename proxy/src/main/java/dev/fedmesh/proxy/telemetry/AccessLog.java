package dev.fedmesh.proxy.telemetry;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One JSON line per request, with the fields of Envoy's default JSON access log (start time,
 * method, path, protocol, response code and flags, bytes each way, duration, upstream host and
 * cluster, request id, user agent, authority) and fedmesh's: the trace id, the peer's identity and
 * workload, and which side reported. Sampled per request when asked to.
 */
public final class AccessLog {
  private static final JsonFactory JSON = new JsonFactory();

  private final Consumer<String> sink;
  private final double sampling;

  /**
   * @param sink takes one line (no newline) at a time; called from event loops
   * @param sampling the share of requests logged, 0..1
   */
  public AccessLog(Consumer<String> sink, double sampling) {
    if (!(sampling >= 0 && sampling <= 1)) {
      throw new IllegalArgumentException("access log sampling " + sampling + " (expected: 0..1)");
    }
    this.sink = sink;
    this.sampling = sampling;
  }

  /**
   * Lines to a writer (standard output or a file), buffered and flushed once a second, as Envoy
   * flushes its access log files: no write system call on the request path. The flusher is a daemon
   * thread; {@link #close} writes what is left.
   */
  public static BufferedLines lines(Writer out) {
    return new BufferedLines(out, Duration.ofSeconds(1), false);
  }

  /** As {@link #lines(Writer)}, closing {@code out} with the log (a file the log opened). */
  static BufferedLines ownedLines(Writer out) {
    return new BufferedLines(out, Duration.ofSeconds(1), true);
  }

  /** A line sink that buffers and flushes on a timer. */
  public static final class BufferedLines implements Consumer<String>, AutoCloseable {
    private final Writer out;
    private final ScheduledExecutorService flusher;
    private final boolean owned;

    BufferedLines(Writer out, Duration every, boolean owned) {
      this.out = new BufferedWriter(out, 64 * 1024);
      this.owned = owned;
      this.flusher =
          Executors.newSingleThreadScheduledExecutor(
              runnable -> {
                Thread thread = new Thread(runnable, "access-log-flush");
                thread.setDaemon(true);
                return thread;
              });
      flusher.scheduleWithFixedDelay(
          this::flush, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void accept(String line) {
      synchronized (out) {
        try {
          out.write(line);
          out.write('\n');
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }

    /** Writes what is buffered now. */
    public void flush() {
      synchronized (out) {
        try {
          out.flush();
        } catch (IOException e) {
          // a full disk must not take the proxy down; the next flush tries again
        }
      }
    }

    @Override
    public void close() {
      flusher.shutdownNow();
      flush();
      if (owned) {
        synchronized (out) {
          try {
            out.close();
          } catch (IOException e) {
            // closing a log file that cannot be written any more: nothing left to lose
          }
        }
      }
    }
  }

  /** Writes what the sink still holds and stops it (a log that is replaced or switched off). */
  public void close() {
    if (sink instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        // nothing more to do for a log being let go
      }
    }
  }

  void write(RequestRecord r, Workload self) {
    if (sampling < 1 && ThreadLocalRandom.current().nextDouble() >= sampling) {
      return;
    }
    StringWriter line = new StringWriter(512);
    try (JsonGenerator json = JSON.createGenerator(line)) {
      json.writeStartObject();
      json.writeStringField("start_time", DateTimeFormatter.ISO_INSTANT.format(r.startTime));
      json.writeStringField("reporter", r.reporter.label());
      json.writeStringField("method", r.method);
      json.writeStringField("path", r.path);
      json.writeStringField("protocol", r.protocol);
      json.writeNumberField("response_code", r.responseCode);
      json.writeStringField("response_flags", r.flags());
      if (r.grpc) {
        json.writeStringField("grpc_status", r.grpcStatus.isEmpty() ? "-" : r.grpcStatus);
      }
      json.writeNumberField("bytes_received", r.requestBytes);
      json.writeNumberField("bytes_sent", r.responseBytes);
      json.writeNumberField("duration", r.elapsedNanos() / 1_000_000);
      json.writeStringField("authority", r.authority);
      json.writeStringField("upstream_host", r.upstreamHost);
      json.writeStringField("upstream_cluster", r.upstreamCluster);
      json.writeStringField("downstream_remote_address", r.downstreamPeer);
      json.writeStringField("request_id", r.requestId);
      json.writeStringField("trace_id", r.traceId);
      json.writeStringField("user_agent", r.userAgent);
      json.writeStringField(
          "peer_principal",
          r.reporter == RequestRecord.Reporter.DESTINATION ? r.sourcePrincipal : "-");
      json.writeStringField("workload", self.name() + "." + self.namespace());
      json.writeStringField("peer_workload", r.peer.name() + "." + r.peer.namespace());
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    sink.accept(line.toString());
  }
}
