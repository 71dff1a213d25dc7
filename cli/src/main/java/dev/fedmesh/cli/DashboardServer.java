package dev.fedmesh.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What {@code fedmesh dashboard} runs: a loopback-only relay of the controller's web UI, as {@code
 * istioctl dashboard} and {@code kubectl proxy} do. The browser talks plain HTTP to 127.0.0.1; the
 * relay talks to the controller's admin API over TLS (checking its certificate) and presents the
 * admin token, so the page needs neither the controller's CA nor the token.
 *
 * <p>What stops other local pages and programs from using it: every API call must carry this run's
 * random session key (handed to the browser in the URL's fragment, which is never sent over the
 * network), and the {@code Host} header must name the relay's own loopback address (a page that
 * rebinds a DNS name to 127.0.0.1 is refused). Only the UI's routes are relayed, not the rest of
 * the admin API.
 *
 * <p>In a lab, the relay also answers the page's kill and revive buttons ({@code /ui/api/lab}):
 * only here, where the user's own lab directory (its fault token and process table) is at hand; the
 * controller itself can never kill a cluster.
 */
public final class DashboardServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A lab's clusters, for the page's kill and revive buttons. */
  public interface LabControl {
    /** Cluster name to whether its process runs, in topology order. */
    Map<String, Boolean> clusters() throws IOException;

    void kill(String cluster) throws IOException;

    /** Returns once the cluster has rejoined the mesh. */
    void revive(String cluster) throws IOException;
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final ExecutorService labWork;
  private final AdminClient upstream;
  private final Optional<LabControl> lab;
  private final byte[] sessionKey;
  private final String key;
  private final Map<String, String> labActions = new ConcurrentHashMap<>();
  private final Map<String, String> labErrors = new ConcurrentHashMap<>();
  private final java.util.Set<InputStream> relaying = ConcurrentHashMap.newKeySet();

  public DashboardServer(InetSocketAddress bind, AdminClient upstream, Optional<LabControl> lab)
      throws IOException {
    requireNonNull(bind, "bind");
    if (!bind.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException(
          "--address: " + bind.getAddress().getHostAddress() + " (expected: a loopback address)");
    }
    this.upstream = requireNonNull(upstream, "upstream");
    this.lab = requireNonNull(lab, "lab");
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    this.key = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    this.sessionKey = ("Bearer " + key).getBytes(StandardCharsets.US_ASCII);
    this.executor = Executors.newFixedThreadPool(16, DaemonThreads.numbered("dashboard"));
    this.labWork = Executors.newSingleThreadExecutor(DaemonThreads.named("dashboard-lab"));
    this.server = HttpServer.create(bind, 0);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The page's address, with this run's session key in the fragment. */
  public URI url() {
    InetSocketAddress address = server.getAddress();
    return URI.create("http://" + hostPort(address) + "/ui/#token=" + key);
  }

  private static String hostPort(InetSocketAddress address) {
    InetAddress host = address.getAddress();
    String literal = host.getHostAddress();
    return (literal.contains(":") ? "[" + literal + "]" : literal) + ":" + address.getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String host = exchange.getRequestHeaders().getFirst("Host");
      int port = server.getAddress().getPort();
      if (host == null
          || !(host.equals(hostPort(server.getAddress())) || host.equals("localhost:" + port))) {
        text(
            exchange,
            403,
            "Host: '" + host + "' (expected: " + hostPort(server.getAddress()) + ")");
        return;
      }
      String path = exchange.getRequestURI().getPath();
      if (path.equals("/")) {
        exchange.getResponseHeaders().set("Location", "/ui/");
        exchange.sendResponseHeaders(308, -1);
        return;
      }
      if (!path.equals("/ui") && !path.startsWith("/ui/")) {
        text(exchange, 404, path + ": not relayed (expected: /ui/)");
        return;
      }
      if (path.startsWith("/ui/api/")) {
        String presented = exchange.getRequestHeaders().getFirst("Authorization");
        if (presented == null
            || !MessageDigest.isEqual(sessionKey, presented.getBytes(StandardCharsets.US_ASCII))) {
          text(exchange, 401, "authorization: expected this dashboard's session key");
          return;
        }
        if (lab.isPresent() && (path.equals("/ui/api/lab") || path.startsWith("/ui/api/lab/"))) {
          lab(exchange, lab.get(), path);
          return;
        }
      }
      relay(exchange);
    }
  }

  private void relay(HttpExchange exchange) throws IOException {
    String pathAndQuery =
        exchange.getRequestURI().getRawPath()
            + (exchange.getRequestURI().getRawQuery() == null
                ? ""
                : "?" + exchange.getRequestURI().getRawQuery());
    byte[] body = exchange.getRequestBody().readAllBytes();
    HttpResponse<InputStream> answer;
    try {
      answer = upstream.open(exchange.getRequestMethod(), pathAndQuery, body);
    } catch (IOException e) {
      text(exchange, 502, e.getMessage());
      return;
    }
    for (String header :
        List.of(
            "Content-Type",
            "Cache-Control",
            "Content-Security-Policy",
            "X-Content-Type-Options",
            "Referrer-Policy",
            "Location",
            "Retry-After")) {
      answer
          .headers()
          .firstValue(header)
          .ifPresent(v -> exchange.getResponseHeaders().set(header, v));
    }
    InputStream in = answer.body();
    relaying.add(in);
    try (in) {
      boolean empty = answer.headers().firstValueAsLong("Content-Length").orElse(-1) == 0;
      exchange.sendResponseHeaders(answer.statusCode(), empty ? -1 : 0);
      if (empty) {
        return;
      }
      OutputStream out = exchange.getResponseBody();
      byte[] buffer = new byte[16 * 1024];
      int read;
      // Flushed after every read: the event stream's views must reach the page as they come.
      while ((read = in.read(buffer)) >= 0) {
        out.write(buffer, 0, read);
        out.flush();
      }
      out.close();
    } finally {
      relaying.remove(in);
    }
  }

  private void lab(HttpExchange exchange, LabControl control, String path) throws IOException {
    String method = exchange.getRequestMethod();
    if (path.equals("/ui/api/lab") && method.equals("GET")) {
      ObjectNode body = JSON.createObjectNode();
      body.put("available", true);
      ArrayNode clusters = body.putArray("clusters");
      control
          .clusters()
          .forEach(
              (name, running) -> {
                ObjectNode cluster = clusters.addObject().put("name", name).put("running", running);
                Optional.ofNullable(labActions.get(name)).ifPresent(a -> cluster.put("action", a));
                Optional.ofNullable(labErrors.get(name)).ifPresent(e -> cluster.put("error", e));
              });
      json(exchange, 200, body);
      return;
    }
    String action = path.substring("/ui/api/lab/".length());
    if (!method.equals("POST") || !(action.equals("kill") || action.equals("revive"))) {
      text(exchange, 404, method + " " + path + ": expected POST /ui/api/lab/kill or /revive");
      return;
    }
    String cluster = query(exchange).getOrDefault("cluster", "");
    Map<String, Boolean> clusters = control.clusters();
    if (!clusters.containsKey(cluster)) {
      text(
          exchange,
          400,
          "cluster: '"
              + cluster
              + "' (expected one of: "
              + String.join(", ", clusters.keySet())
              + ")");
      return;
    }
    if (labActions.putIfAbsent(cluster, action.equals("kill") ? "killing" : "reviving") != null) {
      text(exchange, 409, "cluster " + cluster + ": " + labActions.get(cluster) + " already");
      return;
    }
    labErrors.remove(cluster);
    if (action.equals("kill")) {
      try {
        control.kill(cluster);
        json(exchange, 200, JSON.createObjectNode().put("cluster", cluster).put("killed", true));
      } catch (IOException | RuntimeException e) {
        text(exchange, 409, String.valueOf(e.getMessage()));
      } finally {
        labActions.remove(cluster);
      }
      return;
    }
    // Reviving waits for the cluster to rejoin the mesh (seconds): answered at once, done behind.
    labWork.execute(
        () -> {
          try {
            control.revive(cluster);
          } catch (IOException | RuntimeException e) {
            labErrors.put(cluster, "revive failed: " + e.getMessage());
          } finally {
            labActions.remove(cluster);
          }
        });
    json(exchange, 202, JSON.createObjectNode().put("cluster", cluster).put("reviving", true));
  }

  private static Map<String, String> query(HttpExchange exchange) {
    Map<String, String> result = new java.util.HashMap<>();
    String raw = exchange.getRequestURI().getRawQuery();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int equals = pair.indexOf('=');
        if (equals > 0) {
          result.put(
              java.net.URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8),
              java.net.URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return result;
  }

  private static void json(HttpExchange exchange, int status, ObjectNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  private static void text(HttpExchange exchange, int status, String message) throws IOException {
    byte[] bytes = (message + "\n").getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  /** The buttons of the lab in {@code lab}'s directory: its own kill and revive. */
  public static LabControl labControl(dev.fedmesh.lab.LocalLab lab) {
    return new LabControl() {
      @Override
      public Map<String, Boolean> clusters() throws IOException {
        return lab.clusters();
      }

      @Override
      public void kill(String cluster) throws IOException {
        lab.killCluster(cluster);
      }

      @Override
      public void revive(String cluster) throws IOException {
        lab.reviveCluster(cluster);
      }
    };
  }

  @Override
  public void close() {
    // Open event streams end with their upstream: nothing keeps a relay thread past close.
    for (InputStream in : relaying) {
      try {
        in.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    server.stop(0);
    executor.shutdownNow();
    labWork.shutdownNow();
  }
}
