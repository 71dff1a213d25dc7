package dev.fedmesh.gateway;

import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The gateway's admin endpoints over HTTP (the JDK's server, one thread of its own):
 *
 * <ul>
 *   <li>{@code GET /healthz}: the process is up
 *   <li>{@code GET /ready}: 200 once a config with a listener is active, 503 before and while
 *       draining
 *   <li>{@code GET /metrics}: Prometheus text format
 *   <li>{@code GET /config_dump}: the active listeners, routes, clusters and endpoints as Envoy's
 *       {@code ConfigDump} JSON, so tools made for Envoy read it
 * </ul>
 */
final class GatewayAdmin {

  private final HttpServer server;
  private final ExecutorService executor;
  private final EastWestGateway gateway;

  GatewayAdmin(InetSocketAddress address, EastWestGateway gateway) throws IOException {
    this.gateway = gateway;
    this.server = HttpServer.create(address, 0);
    this.executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-admin");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
    server.createContext("/ready", this::ready);
    server.createContext("/metrics", this::metrics);
    server.createContext("/config_dump", this::configDump);
  }

  void start() {
    server.start();
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  void stop() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void ready(HttpExchange exchange) throws IOException {
    String state = gateway.readiness();
    respond(exchange, state.equals(EastWestGateway.READY) ? 200 : 503, "text/plain", state + "\n");
  }

  private void metrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    gateway.metrics().write(body);
    exchange.getResponseHeaders().set("Content-Type", GatewayMetrics.contentType());
    exchange.sendResponseHeaders(200, body.size());
    try (OutputStream out = exchange.getResponseBody()) {
      body.writeTo(out);
    }
  }

  private void configDump(HttpExchange exchange) throws IOException {
    try {
      respond(
          exchange,
          200,
          "application/json",
          dev.fedmesh.proxy.xds.ConfigDumps.json(gateway.activeConfig()) + "\n");
    } catch (InvalidProtocolBufferException e) {
      respond(exchange, 500, "text/plain", "cannot print the config: " + e.getMessage() + "\n");
    }
  }

  /** The config as Envoy's {@code /config_dump} prints it. */
  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
