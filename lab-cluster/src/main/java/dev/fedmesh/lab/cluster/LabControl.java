package dev.fedmesh.lab.cluster;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The lab's fault injection inside one cluster, for chaos tests and curious users: {@code POST
 * /agent/stop|start} and {@code POST /gateway/stop|start} crash or bring back the agent or the
 * gateway while everything else of the cluster keeps running. (A whole cluster is killed from
 * outside, with {@code kill -9} of its process.)
 */
final class LabControl implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private LabControl(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  static LabControl start(InetSocketAddress address, ClusterHost host) throws IOException {
    HttpServer server = HttpServer.create(address, 8);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "lab-control");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/agent/stop", exchange -> act(exchange, host::stopAgent));
    server.createContext("/agent/start", exchange -> act(exchange, host::startAgent));
    server.createContext(
        "/gateway/stop", exchange -> act(exchange, () -> host.stopGateway(Duration.ZERO)));
    server.createContext("/gateway/start", exchange -> act(exchange, host::startGateway));
    server.start();
    return new LabControl(server, executor);
  }

  private static void act(HttpExchange exchange, Runnable action) throws IOException {
    int status;
    String body;
    if (!"POST".equals(exchange.getRequestMethod())) {
      status = 405;
      body = "method: " + exchange.getRequestMethod() + " (expected: POST)\n";
    } else {
      try {
        action.run();
        status = 200;
        body = "done\n";
      } catch (RuntimeException e) {
        status = 500;
        body = e.toString() + "\n";
      }
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
