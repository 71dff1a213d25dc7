package dev.fedmesh.agent.status;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The agent's own HTTP port, for probes, people and {@code fedmesh analyze}.
 *
 * <ul>
 *   <li>{@code GET /healthz}: the process is up
 *   <li>{@code GET /ready}: connected to a controller that stored everything sent (503 otherwise)
 *   <li>{@code GET /status}: {@link AgentStatus} as JSON, findings included
 *   <li>{@code GET /metrics}: Prometheus metrics
 * </ul>
 */
public final class StatusServer implements AutoCloseable {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final HttpServer server;
  private final ExecutorService executor;

  private StatusServer(
      InetSocketAddress address, Supplier<AgentStatus> status, AgentMetrics metrics)
      throws IOException {
    server = HttpServer.create(address, 0);
    executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-status");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
    server.createContext(
        "/ready",
        exchange -> {
          AgentStatus now = status.get();
          String body =
              now.ready()
                  ? "ready\n"
                  : now.connected() ? "not in sync with the controller\n" : "not connected\n";
          respond(exchange, now.ready() ? 200 : 503, "text/plain", body);
        });
    server.createContext(
        "/status",
        exchange ->
            respond(
                exchange, 200, "application/json", JSON.writeValueAsString(status.get()) + "\n"));
    server.createContext(
        "/metrics",
        exchange -> {
          ByteArrayOutputStream body = new ByteArrayOutputStream();
          metrics.write(body);
          exchange.getResponseHeaders().set("Content-Type", AgentMetrics.contentType());
          exchange.sendResponseHeaders(200, body.size());
          try (OutputStream out = exchange.getResponseBody()) {
            body.writeTo(out);
          }
        });
  }

  /** Binds {@code address} and serves until closed. */
  public static StatusServer start(
      InetSocketAddress address, Supplier<AgentStatus> status, AgentMetrics metrics) {
    requireNonNull(address, "address");
    requireNonNull(status, "status");
    requireNonNull(metrics, "metrics");
    StatusServer server;
    try {
      server = new StatusServer(address, status, metrics);
    } catch (IOException e) {
      throw new UncheckedIOException("status address " + address + ": cannot bind", e);
    }
    server.server.start();
    return server;
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
