package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.controller.admin.AdminClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code fedmesh dashboard}'s relay between a real browser-like client and a stand-in for the
 * controller's admin API, both on loopback.
 */
class DashboardServerTest {
  private static final String ADMIN_TOKEN = "admin-token-0123456789";
  private final HttpClient http = HttpClient.newHttpClient();
  private final Map<String, String> upstreamSaw = new ConcurrentHashMap<>();
  private final List<String> labCalls = new ArrayList<>();
  private final Map<String, Boolean> running = new LinkedHashMap<>();
  private final CountDownLatch reviveMayFinish = new CountDownLatch(1);
  private HttpServer controller;
  private DashboardServer dashboard;
  private String key;
  private String base;

  @BeforeEach
  void start() throws Exception {
    controller = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    controller.createContext(
        "/",
        exchange -> {
          upstreamSaw.put(
              exchange.getRequestURI().toString(),
              String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
          byte[] body =
              ("from controller: " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().set("Content-Type", "text/plain");
          exchange.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'");
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    controller.start();
    running.put("east", true);
    running.put("west", true);
    DashboardServer.LabControl lab =
        new DashboardServer.LabControl() {
          @Override
          public Map<String, Boolean> clusters() {
            synchronized (running) {
              return new LinkedHashMap<>(running);
            }
          }

          @Override
          public void kill(String cluster) {
            synchronized (running) {
              labCalls.add("kill " + cluster);
              running.put(cluster, false);
            }
          }

          @Override
          public void revive(String cluster) throws IOException {
            try {
              reviveMayFinish.await();
            } catch (InterruptedException e) {
              throw new IOException(e);
            }
            synchronized (running) {
              labCalls.add("revive " + cluster);
              running.put(cluster, true);
            }
          }
        };
    dashboard =
        new DashboardServer(
            new InetSocketAddress("127.0.0.1", 0),
            new AdminClient("127.0.0.1:" + controller.getAddress().getPort(), ADMIN_TOKEN),
            Optional.of(lab));
    URI url = dashboard.url();
    key = url.getFragment().substring("token=".length());
    base = "http://" + url.getAuthority();
  }

  @AfterEach
  void stop() {
    reviveMayFinish.countDown();
    dashboard.close();
    controller.stop(0);
  }

  private HttpResponse<String> send(String method, String path, String authorization)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void printsALoopbackAddressWithASessionKeyInTheFragment() {
    assertThat(dashboard.url().getHost()).isEqualTo("127.0.0.1");
    assertThat(dashboard.url().getPath()).isEqualTo("/ui/");
    assertThat(key).hasSizeGreaterThanOrEqualTo(40).doesNotContain(ADMIN_TOKEN);
  }

  @Test
  void relaysTheUiWithTheAdminTokenInPlaceOfTheSessionKey() throws Exception {
    HttpResponse<String> page = send("GET", "/ui/app.js", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).isEqualTo("from controller: /ui/app.js");
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValue("default-src 'self'");

    HttpResponse<String> view = send("GET", "/ui/api/view?x=1", "Bearer " + key);
    assertThat(view.statusCode()).isEqualTo(200);
    assertThat(upstreamSaw).containsEntry("/ui/api/view?x=1", "Bearer " + ADMIN_TOKEN);
  }

  @Test
  void theDataNeedsTheSessionKeyAndOnlyTheUiIsRelayed() throws Exception {
    assertThat(send("GET", "/ui/api/view", null).statusCode()).isEqualTo(401);
    assertThat(send("GET", "/ui/api/view", "Bearer " + ADMIN_TOKEN).statusCode())
        .as("the admin token itself is not this relay's key")
        .isEqualTo(401);
    assertThat(send("GET", "/status", "Bearer " + key).statusCode()).isEqualTo(404);
    assertThat(send("GET", "/policies", "Bearer " + key).statusCode()).isEqualTo(404);
    assertThat(upstreamSaw).doesNotContainKeys("/ui/api/view", "/status", "/policies");
  }

  @Test
  void refusesRequestsNamingAnotherHostAsAPageThatRebindsDnsWould() throws Exception {
    int port = URI.create(base).getPort();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket
          .getOutputStream()
          .write(
              ("GET /ui/api/view HTTP/1.1\r\nHost: attacker.example:"
                      + port
                      + "\r\nAuthorization: Bearer "
                      + key
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answer)
          .startsWith("HTTP/1.1 403")
          .contains("Host: 'attacker.example:" + port + "'");
    }
  }

  @Test
  void killsAndRevivesLabClustersForThePage() throws Exception {
    String auth = "Bearer " + key;
    HttpResponse<String> lab = send("GET", "/ui/api/lab", auth);
    assertThat(lab.body())
        .isEqualTo(
            "{\"available\":true,\"clusters\":[{\"name\":\"east\",\"running\":true},{\"name\":\"west\",\"running\":true}]}");

    assertThat(send("POST", "/ui/api/lab/kill?cluster=west", null).statusCode()).isEqualTo(401);
    HttpResponse<String> unknown = send("POST", "/ui/api/lab/kill?cluster=mars", auth);
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body()).isEqualTo("cluster: 'mars' (expected one of: east, west)\n");
    assertThat(send("GET", "/ui/api/lab/kill?cluster=west", auth).statusCode()).isEqualTo(404);

    assertThat(send("POST", "/ui/api/lab/kill?cluster=west", auth).statusCode()).isEqualTo(200);
    assertThat(labCalls).containsExactly("kill west");

    // Reviving takes as long as the cluster needs to rejoin: answered at once, shown as under way.
    assertThat(send("POST", "/ui/api/lab/revive?cluster=west", auth).statusCode()).isEqualTo(202);
    assertThat(send("GET", "/ui/api/lab", auth).body())
        .contains("{\"name\":\"west\",\"running\":false,\"action\":\"reviving\"}");
    assertThat(send("POST", "/ui/api/lab/revive?cluster=west", auth).statusCode())
        .as("one action at a time per cluster")
        .isEqualTo(409);
    reviveMayFinish.countDown();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                send("GET", "/ui/api/lab", auth)
                    .body()
                    .contains("{\"name\":\"west\",\"running\":true}"));
    assertThat(labCalls).containsExactly("kill west", "revive west");
  }

  @Test
  void servesOnlyOnLoopback() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                new DashboardServer(
                    new InetSocketAddress("0.0.0.0", 0),
                    new AdminClient("127.0.0.1:1", ADMIN_TOKEN),
                    Optional.empty()))
        .hasMessage("--address: 0.0.0.0 (expected: a loopback address)");
  }
}
