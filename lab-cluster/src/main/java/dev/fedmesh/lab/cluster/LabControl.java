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
 *
 * <p>Only the lab's own tools may use it: a request must carry the lab's random control token
 * ({@code Authorization: Bearer}), name this endpoint's own address as its {@code Host}, and come
 * with no {@code Origin} of another site, so a web page open in the user's browser cannot post here
 * (a cross-site request carries an {@code Origin} and cannot set the header).
 */
final class LabControl implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private LabControl(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  static LabControl start(InetSocketAddress address, String token, ClusterHost host)
      throws IOException {
    HttpServer server = HttpServer.create(address, 8);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "lab-control");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    Guard guard = new Guard(address, token);
    server.createContext("/agent/stop", exchange -> act(exchange, guard, host::stopAgent));
    server.createContext("/agent/start", exchange -> act(exchange, guard, host::startAgent));
    server.createContext(
        "/gateway/stop", exchange -> act(exchange, guard, () -> host.stopGateway(Duration.ZERO)));
    server.createContext("/gateway/start", exchange -> act(exchange, guard, host::startGateway));
    // /apps/stop?service=checkout: that service's applications in this cluster die.
    server.createContext(
        "/apps/stop", exchange -> act(exchange, guard, () -> host.apps(service(exchange), false)));
    server.createContext(
        "/apps/start", exchange -> act(exchange, guard, () -> host.apps(service(exchange), true)));
    server.start();
    return new LabControl(server, executor);
  }

  /** Who may act: the lab's token, this endpoint's own host name, no foreign origin. */
  record Guard(InetSocketAddress address, String token) {
    Guard {
      if (token == null || token.length() < 16) {
        throw new IllegalArgumentException(
            "controlToken: missing or short (expected: at least 16 random characters)");
      }
    }

    /** Why the request is refused, or null when it may act. */
    String refusal(String host, String origin, String authorization) {
      String self = address.getHostString() + ":" + address.getPort();
      if (host == null || !host.equals(self)) {
        return "host: '" + host + "' (expected: '" + self + "', this endpoint's own address)";
      }
      if (origin != null && !origin.equals("http://" + self)) {
        return "origin: '" + origin + "' (expected: none, or this endpoint's own)";
      }
      byte[] expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
      byte[] presented =
          authorization == null ? new byte[0] : authorization.getBytes(StandardCharsets.UTF_8);
      if (!java.security.MessageDigest.isEqual(expected, presented)) {
        return "authorization: "
            + (authorization == null ? "missing" : "wrong token")
            + " (expected: Bearer <the lab's control token, in .fedmesh-lab/control-token>)";
      }
      return null;
    }
  }

  private static String service(HttpExchange exchange) {
    String query = exchange.getRequestURI().getQuery();
    if (query != null) {
      for (String pair : query.split("&")) {
        if (pair.startsWith("service=")) {
          return pair.substring("service=".length());
        }
      }
    }
    throw new IllegalArgumentException("service: missing (expected: ?service=<name>)");
  }

  private static void act(HttpExchange exchange, Guard guard, Runnable action) throws IOException {
    int status;
    String body;
    String refusal =
        guard.refusal(
            exchange.getRequestHeaders().getFirst("Host"),
            exchange.getRequestHeaders().getFirst("Origin"),
            exchange.getRequestHeaders().getFirst("Authorization"));
    if (refusal != null) {
      status = 403;
      body = refusal + "\n";
    } else if (!"POST".equals(exchange.getRequestMethod())) {
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
