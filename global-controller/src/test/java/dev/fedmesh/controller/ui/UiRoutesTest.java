package dev.fedmesh.controller.ui;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The UI's routes on a real HTTP server on loopback, with a stand-in for the token check. */
class UiRoutesTest {
  private final AtomicInteger views = new AtomicInteger();
  private final HttpClient http = HttpClient.newHttpClient();
  private HttpServer server;
  private UiRoutes routes;
  private String base;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(UiRoutes.MAX_STREAMS + 2));
    routes = new UiRoutes(() -> MeshView.JSON.createObjectNode().put("n", views.incrementAndGet()));
    routes.register(
        server,
        handler ->
            exchange -> {
              if (!"Bearer secret".equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                UiRoutes.send(exchange, 401, "text/plain", "no\n".getBytes(StandardCharsets.UTF_8));
                return;
              }
              handler.handle(exchange);
            });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    routes.close();
    server.stop(0);
  }

  private HttpResponse<String> get(String path, boolean token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path));
    if (token) {
      request.header("Authorization", "Bearer secret");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesThePagesFilesWithoutATokenUnderAStrictContentSecurityPolicy() throws Exception {
    HttpResponse<String> index = get("/ui/", false);

    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(index.headers().firstValue("Content-Security-Policy"))
        .hasValueSatisfying(
            csp -> assertThat(csp).contains("default-src 'self'", "script-src 'self'"));
    assertThat(index.body()).contains("<script src=\"app.js\" defer></script>");
    // Everything the page loads is its own: nothing from another origin.
    assertThat(index.body()).doesNotContain("http://", "https://", "//cdn");
    assertThat(get("/ui/app.js", false).headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    assertThat(get("/ui/app.css", false).statusCode()).isEqualTo(200);
    assertThat(get("/ui/favicon.svg", false).statusCode()).isEqualTo(200);
    HttpResponse<String> bare = get("/ui", false);
    assertThat(bare.statusCode()).isEqualTo(308);
    assertThat(bare.headers().firstValue("Location")).hasValue("/ui/");
  }

  @Test
  void servesNothingButItsOwnFiles() throws Exception {
    for (String path :
        List.of(
            "/ui/missing.js",
            "/ui/../dev/fedmesh/controller/ui/MeshView.class",
            "/ui/%2e%2e/%2e%2e/etc/passwd",
            "/ui/.hidden.js",
            "/ui/MeshView.class",
            "/ui/sub/app.js")) {
      assertThat(get(path, false).statusCode()).as(path).isIn(400, 404);
    }
  }

  @Test
  void theDataNeedsTheToken() throws Exception {
    assertThat(get("/ui/api/view", false).statusCode()).isEqualTo(401);
    assertThat(get("/ui/api/events", false).statusCode()).isEqualTo(401);
    assertThat(get("/ui/api/lab", false).statusCode()).isEqualTo(401);

    HttpResponse<String> view = get("/ui/api/view", true);
    assertThat(view.statusCode()).isEqualTo(200);
    assertThat(MeshView.JSON.readTree(view.body()).path("n").asInt()).isPositive();
    JsonNode lab = MeshView.JSON.readTree(get("/ui/api/lab", true).body());
    assertThat(lab.path("available").asBoolean())
        .as("the controller never kills clusters")
        .isFalse();
  }

  @Test
  void theEventStreamPushesAFreshViewEverySecond() throws Exception {
    HttpResponse<java.io.InputStream> stream =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/ui/api/events"))
                .header("Authorization", "Bearer secret")
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(stream.headers().firstValue("Content-Type"))
        .hasValue("text/event-stream; charset=utf-8");
    List<Integer> seen = new ArrayList<>();
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
      String event = "";
      String line;
      while (seen.size() < 2 && (line = reader.readLine()) != null) {
        if (line.startsWith("event: ")) {
          event = line.substring(7);
        } else if (line.startsWith("data: ") && event.equals("view")) {
          seen.add(MeshView.JSON.readTree(line.substring(6)).path("n").asInt());
        }
      }
    }
    assertThat(seen).hasSize(2);
    assertThat(seen.get(1)).as("a new view, not the same one again").isGreaterThan(seen.get(0));
  }

  @Test
  void refusesMoreEventStreamsThanItHasThreadsFor() throws Exception {
    List<HttpResponse<java.io.InputStream>> open = new ArrayList<>();
    try {
      for (int i = 0; i < UiRoutes.MAX_STREAMS; i++) {
        open.add(
            http.send(
                HttpRequest.newBuilder(URI.create(base + "/ui/api/events"))
                    .header("Authorization", "Bearer secret")
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream()));
        assertThat(open.get(i).statusCode()).isEqualTo(200);
      }
      HttpResponse<String> refused = get("/ui/api/events", true);
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).contains("event streams: 8 open already");
    } finally {
      for (HttpResponse<java.io.InputStream> response : open) {
        response.body().close();
      }
    }
  }
}
