package dev.fedmesh.controller.ui;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The web UI's routes on the admin server.
 *
 * <ul>
 *   <li>{@code GET /ui/...}: the page's static files, from the jar (they hold no mesh data, so they
 *       need no token; every byte of data comes from the API below, which does)
 *   <li>{@code GET /ui/api/view}: the {@link MeshView} document once
 *   <li>{@code GET /ui/api/events}: the same document pushed as Server-Sent Events ({@code event:
 *       view}) every second while the connection stays open
 *   <li>{@code GET /ui/api/lab}: whether this page may kill and revive clusters: never when served
 *       by the controller; {@code fedmesh dashboard} answers it itself in a lab
 * </ul>
 */
public final class UiRoutes {
  /** The page's files, packaged under this resource folder. */
  static final String STATIC = "/dev/fedmesh/controller/ui/static/";

  /** How often an open event stream gets a fresh view. */
  public static final Duration PUSH_INTERVAL = Duration.ofSeconds(1);

  /** Event streams each hold a thread of the admin server: at most this many at once. */
  public static final int MAX_STREAMS = 8;

  private static final Map<String, String> CONTENT_TYPES =
      Map.of(
          "html", "text/html; charset=utf-8",
          "js", "text/javascript; charset=utf-8",
          "css", "text/css; charset=utf-8",
          "svg", "image/svg+xml",
          "png", "image/png");

  /**
   * Only the page's own files and API: no CDN, no inline script or style, no framing. Every
   * violation would show in the browser's console, which the browser test reads.
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

  private final Supplier<JsonNode> view;
  private final Semaphore streams = new Semaphore(MAX_STREAMS);
  private volatile boolean closed;

  public UiRoutes(Supplier<JsonNode> view) {
    this.view = view;
  }

  /** Registers the routes; {@code authorized} wraps a handler in the admin API's token check. */
  public void register(
      com.sun.net.httpserver.HttpServer server, UnaryOperator<HttpHandler> authorized) {
    server.createContext("/ui", this::file);
    server.createContext("/ui/api/view", authorized.apply(this::viewOnce));
    server.createContext("/ui/api/events", authorized.apply(this::events));
    server.createContext(
        "/ui/api/lab",
        authorized.apply(
            exchange ->
                send(
                    exchange,
                    200,
                    "application/json; charset=utf-8",
                    ("{\"available\":false,\"reason\":\"kill and revive are offered when the page"
                            + " is opened with 'fedmesh dashboard' in a lab\"}\n")
                        .getBytes(StandardCharsets.UTF_8))));
  }

  /** Ends every open event stream (the server is stopping). */
  public void close() {
    closed = true;
  }

  private void file(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
      send(
          exchange,
          405,
          "text/plain; charset=utf-8",
          "GET only\n".getBytes(StandardCharsets.UTF_8));
      return;
    }
    if (path.equals("/ui")) {
      exchange.getResponseHeaders().set("Location", "/ui/");
      send(exchange, 308, "text/plain; charset=utf-8", new byte[0]);
      return;
    }
    String name = path.substring("/ui/".length());
    if (name.isEmpty()) {
      name = "index.html";
    }
    // Only plain file names from the one folder: no traversal, no hidden files.
    if (!name.matches("[a-z0-9][a-z0-9-]*\\.[a-z]+")
        || !CONTENT_TYPES.containsKey(extension(name))) {
      notFound(exchange, path);
      return;
    }
    byte[] bytes;
    try (InputStream in = UiRoutes.class.getResourceAsStream(STATIC + name)) {
      if (in == null) {
        notFound(exchange, path);
        return;
      }
      bytes = in.readAllBytes();
    }
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    send(exchange, 200, CONTENT_TYPES.get(extension(name)), bytes);
  }

  private static String extension(String name) {
    return name.substring(name.lastIndexOf('.') + 1);
  }

  private static void notFound(HttpExchange exchange, String path) throws IOException {
    send(
        exchange,
        404,
        "text/plain; charset=utf-8",
        (path + ": no such file of the UI\n").getBytes(StandardCharsets.UTF_8));
  }

  private void viewOnce(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    send(
        exchange,
        200,
        "application/json; charset=utf-8",
        MeshView.JSON.writeValueAsBytes(view.get()));
  }

  /**
   * Server-Sent Events: a {@code view} event at once, then every {@link #PUSH_INTERVAL}; a comment
   * line keeps proxies in between from timing the stream out. Ends when the client goes away.
   */
  private void events(HttpExchange exchange) throws IOException {
    if (!streams.tryAcquire()) {
      exchange.getResponseHeaders().set("Retry-After", "5");
      send(
          exchange,
          503,
          "text/plain; charset=utf-8",
          ("event streams: " + MAX_STREAMS + " open already (expected: fewer dashboards)\n")
              .getBytes(StandardCharsets.UTF_8));
      return;
    }
    try {
      exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.getResponseHeaders().set("X-Accel-Buffering", "no");
      exchange.sendResponseHeaders(200, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write("retry: 1000\n\n".getBytes(StandardCharsets.UTF_8));
        while (!closed) {
          byte[] data = MeshView.JSON.writeValueAsBytes(view.get());
          out.write("event: view\ndata: ".getBytes(StandardCharsets.UTF_8));
          out.write(data);
          out.write("\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          Thread.sleep(PUSH_INTERVAL.toMillis());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // the page was closed or reloaded: nothing to do
    } finally {
      streams.release();
    }
  }

  static void send(HttpExchange exchange, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    exchange.getResponseHeaders().set("Referrer-Policy", "no-referrer");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head || body.length == 0 ? -1 : body.length);
    if (!head && body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } else {
      exchange.close();
    }
  }
}
