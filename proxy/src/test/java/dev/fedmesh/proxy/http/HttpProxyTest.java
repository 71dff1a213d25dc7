package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.retries;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.testkit.EchoServer;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpProxyTest {
  private final ProxyFixture fixture = new ProxyFixture();
  private HttpClient client;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
  }

  private Backend backend(String name) throws IOException {
    return fixture.closeLater(new Backend(name));
  }

  private HttpProxy start() throws InterruptedException {
    HttpProxy proxy = fixture.outboundProxy();
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    return proxy;
  }

  private HttpResponse<String> get(String url) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String url, int bytes) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[bytes]))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private Map<String, Integer> spread(String url, int requests) throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < requests; i++) {
      HttpResponse<String> response = get(url);
      assertThat(response.statusCode()).as("request %d: %s", i, response.body()).isEqualTo(200);
      counts.merge(response.headers().firstValue("x-backend").orElse("?"), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void routesByHostAndPathPrefix() throws Exception {
    Backend a = backend("a");
    Backend b = backend("b");
    fixture
        .addCluster(cluster("ca").build(), List.of(List.of(a.address())))
        .addCluster(cluster("cb").build(), List.of(List.of(b.address())))
        .addHost("shop.test", route("/b", "cb"), route("/", "ca"));
    start();

    assertThat(get("http://shop.test/b/cart").body()).isEqualTo("b");
    assertThat(get("http://shop.test/anything").body()).isEqualTo("a");
    assertThat(a.requests.peek().get("Host")).containsExactly("shop.test");
  }

  @Test
  void weightedClustersSplitTraffic() throws Exception {
    Backend a = backend("a");
    Backend b = backend("b");
    fixture
        .addCluster(cluster("ca").build(), List.of(List.of(a.address())))
        .addCluster(cluster("cb").build(), List.of(List.of(b.address())))
        .addHost(
            "shop.test",
            route(
                "/",
                RouteAction.newBuilder()
                    .setWeightedClusters(
                        WeightedCluster.newBuilder()
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setName("ca")
                                    .setWeight(UInt32Value.of(80)))
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setName("cb")
                                    .setWeight(UInt32Value.of(20))))));
    start();

    Map<String, Integer> counts = spread("http://shop.test/", 300);
    assertThat(counts.get("a")).isBetween(200, 280);
    assertThat(counts.get("b")).isBetween(20, 100);
  }

  @Test
  void unknownHostsAndMissingClustersGetEnvoysStatuses() throws Exception {
    fixture.addHost("shop.test", route("/", "nowhere"));
    HttpProxy proxy = start();

    assertThat(get("http://elsewhere.test/").statusCode()).isEqualTo(404);
    HttpResponse<String> missing = get("http://shop.test/");
    assertThat(missing.statusCode()).isEqualTo(503);
    assertThat(missing.body()).contains("cluster not found: nowhere");
    assertThat(proxy.stats().localReplies(404)).isEqualTo(1);
  }

  @Test
  void a503IsRetriedOnAnotherHost() throws Exception {
    Backend failing = backend("failing");
    Backend healthy = backend("healthy");
    failing.failNext(1000, 503);
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(failing.address(), healthy.address())))
        .addHost(
            "shop.test",
            route("/", RouteAction.newBuilder().setCluster("c").setRetryPolicy(retries("5xx", 2))));
    HttpProxy proxy = start();

    assertThat(spread("http://shop.test/", 20)).containsOnlyKeys("healthy");
    assertThat(failing.served.get()).isPositive();
    assertThat(proxy.stats().retries("c")).isEqualTo(failing.served.get());
  }

  @Test
  void connectFailuresAndResetsAreRetriedSoCallersSeeNoError() throws Exception {
    Backend healthy = backend("healthy");
    InetSocketAddress dead = new InetSocketAddress("127.0.0.1", freePort());
    try (ResettingServer resetting = new ResettingServer()) {
      fixture
          .addCluster(
              cluster("c").build(), List.of(List.of(dead, resetting.address(), healthy.address())))
          .addHost(
              "shop.test",
              route(
                  "/",
                  RouteAction.newBuilder()
                      .setCluster("c")
                      .setRetryPolicy(retries("connect-failure,reset", 2))));
      start();

      assertThat(spread("http://shop.test/", 30)).containsOnlyKeys("healthy");
      assertThat(resetting.accepted).isPositive();
    }
  }

  @Test
  void aSlowTryIsAbandonedAfterThePerTryTimeout() throws Exception {
    Backend slow = backend("slow");
    Backend fast = backend("fast");
    slow.delay(2_000);
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(slow.address(), fast.address())))
        .addHost(
            "shop.test",
            route(
                "/",
                RouteAction.newBuilder()
                    .setCluster("c")
                    .setRetryPolicy(
                        retries("5xx", 1).setPerTryTimeout(Durations.fromMillis(150)))));
    start();

    long started = System.nanoTime();
    assertThat(spread("http://shop.test/", 6)).containsOnlyKeys("fast");
    // Each request waited at most one per-try timeout, never for the slow host's 2 s.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void theRouteTimeoutAnswers504() throws Exception {
    Backend slow = backend("slow");
    slow.delay(3_000);
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(slow.address())))
        .addHost(
            "shop.test",
            route(
                "/",
                RouteAction.newBuilder().setCluster("c").setTimeout(Durations.fromMillis(200))));
    start();

    HttpResponse<String> response = get("http://shop.test/");
    assertThat(response.statusCode()).isEqualTo(504);
    assertThat(response.body()).contains("timeout");
  }

  @Test
  void anExhaustedRetryBudgetSendsNoRetries() throws Exception {
    Backend failing = backend("failing");
    Backend other = backend("other");
    failing.failNext(1000, 503);
    other.failNext(1000, 503);
    fixture
        .addCluster(
            cluster("c").setCircuitBreakers(ProxyFixture.budget(0, 0)).build(),
            List.of(List.of(failing.address(), other.address())))
        .addHost(
            "shop.test",
            route("/", RouteAction.newBuilder().setCluster("c").setRetryPolicy(retries("5xx", 3))));
    HttpProxy proxy = start();

    for (int i = 0; i < 10; i++) {
      assertThat(get("http://shop.test/").statusCode()).isEqualTo(503);
    }
    assertThat(failing.served.get() + other.served.get()).isEqualTo(10);
    assertThat(proxy.stats().retries("c")).isZero();
  }

  @Test
  void aBodyTooLargeToKeepIsNotRetriedButASmallOneIs() throws Exception {
    Backend only = backend("only");
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(only.address())))
        .addHost(
            "shop.test",
            route("/", RouteAction.newBuilder().setCluster("c").setRetryPolicy(retries("5xx", 1))));
    HttpProxy proxy =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .outbound(new InetSocketAddress("127.0.0.1", 0))
                .limits(4096, 10_000));
    proxy.apply(fixture.config());
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    only.failNext(1, 503);
    HttpResponse<String> small = post("http://shop.test/", 1000);
    assertThat(small.statusCode()).isEqualTo(200);
    assertThat(small.body()).isEqualTo("only got 1000 bytes");
    assertThat(only.served.get()).isEqualTo(2);

    only.failNext(1, 503);
    HttpResponse<String> large = post("http://shop.test/", 256 * 1024);
    assertThat(large.statusCode()).isEqualTo(503);
    assertThat(only.served.get()).isEqualTo(3);
  }

  @Test
  void anEjectedHostIsSkippedAndReturnsAfterItsEjectionTime() throws Exception {
    Backend flaky = backend("flaky");
    Backend standby = backend("standby");
    fixture
        .addCluster(
            cluster("c").build(), List.of(List.of(flaky.address()), List.of(standby.address())))
        .addHost("shop.test", route("/", "c"));
    start();

    flaky.failNext(2, 503);
    assertThat(get("http://shop.test/").statusCode()).isEqualTo(503);
    assertThat(get("http://shop.test/").statusCode()).isEqualTo(503);
    // Two gateway errors in a row: ejected, and its priority's traffic spills to the standby.
    assertThat(spread("http://shop.test/", 10)).containsOnlyKeys("standby");

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(get("http://shop.test/").body()).isEqualTo("flaky"));
  }

  @Test
  void aDeadPriorityFailsOverWithoutErrorsAndFailsBack() throws Exception {
    Backend local = backend("local");
    Backend remote = backend("remote");
    InetSocketAddress localAddress = local.address();
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(localAddress), List.of(remote.address())))
        .addHost(
            "shop.test",
            route(
                "/",
                RouteAction.newBuilder()
                    .setCluster("c")
                    .setRetryPolicy(retries("connect-failure,reset", 2))));
    start();
    assertThat(spread("http://shop.test/", 5)).containsOnlyKeys("local");

    local.close();
    assertThat(spread("http://shop.test/", 20)).containsOnlyKeys("remote");

    // The local host comes back on the same address: once its ejection ends, traffic returns.
    try (Backend back = new Backend("local-again", localAddress)) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> assertThat(get("http://shop.test/").body()).isEqualTo("local-again"));
    }
  }

  @Test
  void grpcOverHttp2PassesThroughWithTrailers() throws Exception {
    EchoServer echo = fixture.closeLater(EchoServer.start("grpc-backend", "127.0.0.1"));
    fixture
        .addCluster(
            ProxyFixture.http2(cluster("grpc")).build(),
            List.of(List.of(new InetSocketAddress("127.0.0.1", echo.port()))))
        .addHost("echo.test:7070", route("/", "grpc"));
    HttpProxy proxy = start();

    ManagedChannel channel =
        NettyChannelBuilder.forAddress(proxy.outboundAddress().orElseThrow())
            .overrideAuthority("echo.test:7070")
            .usePlaintext()
            .build();
    try {
      for (int i = 0; i < 5; i++) {
        assertThat(EchoServer.whoAnswers(channel, "hello")).isEqualTo("grpc-backend");
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void grpcCallersGetUnavailableWhenNoHostAnswers() throws Exception {
    fixture
        .addCluster(
            ProxyFixture.http2(cluster("grpc")).build(),
            List.of(List.of(new InetSocketAddress("127.0.0.1", freePort()))))
        .addHost("echo.test:7070", route("/", "grpc"));
    HttpProxy proxy = start();

    ManagedChannel channel =
        NettyChannelBuilder.forAddress(proxy.outboundAddress().orElseThrow())
            .overrideAuthority("echo.test:7070")
            .usePlaintext()
            .build();
    try {
      assertThat(
              org.assertj.core.api.Assertions.catchThrowableOfType(
                      io.grpc.StatusRuntimeException.class,
                      () -> EchoServer.whoAnswers(channel, "hello"))
                  .getStatus()
                  .getCode())
          .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void connectOpensATunnelToTheRoutedCluster() throws Exception {
    try (TcpEcho echo = new TcpEcho()) {
      fixture
          .addCluster(cluster("tcp").build(), List.of(List.of(echo.address())))
          .addHost("db.test:5432", ProxyFixture.connectRoute("tcp"));
      HttpProxy proxy = start();

      try (Socket socket = new Socket()) {
        socket.connect(proxy.outboundAddress().orElseThrow(), 2000);
        socket.setSoTimeout(5000);
        OutputStream out = socket.getOutputStream();
        out.write(
            "CONNECT db.test:5432 HTTP/1.1\r\nHost: db.test:5432\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String head = readHead(socket.getInputStream());
        assertThat(head).startsWith("HTTP/1.1 200");
        out.write("ping over the tunnel".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] echoed = socket.getInputStream().readNBytes("ping over the tunnel".length());
        assertThat(new String(echoed, StandardCharsets.US_ASCII)).isEqualTo("ping over the tunnel");
      }
    }
  }

  @Test
  void hopByHopHeadersAndThoseConnectionNamesStopAtTheProxy() throws Exception {
    Backend a = backend("a");
    HttpProxy proxy = shopProxy(a, UnaryOperator.identity());

    assertThat(
            rawExchange(
                proxy.outboundAddress().orElseThrow(),
                "GET /cart HTTP/1.1\r\nHost: shop.test\r\n"
                    + "Connection: keep-alive, X-Session-Hint\r\n"
                    + "X-Session-Hint: sticky\r\n"
                    + "Keep-Alive: timeout=5\r\n"
                    + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                    + "TE: trailers\r\n"
                    + "X-Kept: yes\r\n\r\n"))
        .startsWith("HTTP/1.1 200");
    Map<String, List<String>> seen = a.requests.peek();
    assertThat(seen)
        .containsEntry("X-kept", List.of("yes"))
        .containsEntry("Te", List.of("trailers"));
    assertThat(seen).doesNotContainKeys("X-session-hint", "Keep-alive", "Proxy-authorization");
  }

  @Test
  void badRequestsGetTheirStatusAndTheProxyKeepsServing() throws Exception {
    HttpProxy proxy = shopProxy(300);
    InetSocketAddress address = proxy.outboundAddress().orElseThrow();

    assertThat(rawExchange(address, "GARBAGE\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(rawReply(address, "GET http://user@shop.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n"))
        .startsWith("HTTP/1.1 400")
        .contains("malformed request target: userinfo in the authority is not allowed");
    assertThat(
            rawExchange(
                address,
                "GET http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\nX-Big: "
                    + "x".repeat(20_000)
                    + "\r\n\r\n"))
        .startsWith("HTTP/1.1 431");
    // Slowloris: headers that never finish are cut off after the header timeout.
    try (Socket slow = new Socket()) {
      slow.connect(address, 2000);
      slow.setSoTimeout(5000);
      slow.getOutputStream()
          .write("GET http://shop.test/ HTTP/1.1\r\nHost: sh".getBytes(StandardCharsets.US_ASCII));
      assertThat(readHead(slow.getInputStream())).startsWith("HTTP/1.1 408");
    }
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(address))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    assertThat(get("http://shop.test/").body()).isEqualTo("a");
  }

  @Test
  void aSlowRequestAfterAFastOneOnTheSameConnectionStillTimesOut() throws Exception {
    HttpProxy proxy = shopProxy(300);
    try (Socket socket = new Socket()) {
      socket.connect(proxy.outboundAddress().orElseThrow(), 2000);
      socket.setSoTimeout(5000);
      socket
          .getOutputStream()
          .write(
              "GET http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 200");
      socket.getInputStream().readNBytes(1); // the body: "a"

      // The connection's header timer was set when it opened and again after the answer: the
      // second request's headers never finish, and it must still be cut off.
      socket
          .getOutputStream()
          .write("GET http://shop.test/ HTTP/1.1\r\nHost: sh".getBytes(StandardCharsets.US_ASCII));
      assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 408");
    }
    assertThat(proxy.stats().localReplies(408)).isEqualTo(1);
  }

  @Test
  void anIdleKeepAliveConnectionIsNotTimedOutLikeASlowRequest() throws Exception {
    HttpProxy proxy = shopProxy(200);
    String request = "GET http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n";
    try (Socket socket = new Socket()) {
      socket.connect(proxy.outboundAddress().orElseThrow(), 2000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 200");
      socket.getInputStream().readNBytes(1); // the body: "a"

      // Idle for several header timeouts: the scenario itself, not a wait for a condition.
      Thread.sleep(700);

      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 200");
    }
    assertThat(proxy.stats().localReplies(408)).isZero();
  }

  @Test
  void aRequestsHeadReachesTheHostBeforeItsBodyIsSent() throws Exception {
    Backend backend = backend("a");
    HttpProxy proxy = shopProxy(backend, UnaryOperator.identity());
    try (Socket socket = connect(proxy)) {
      // A first request leaves a pooled connection to the host, so that the next one is sent
      // while the proxy is still reading it, not later, when a new connection is up.
      send(socket, "GET http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n");
      assertThat(readReply(socket.getInputStream())).startsWith("HTTP/1.1 200");
      send(
          socket,
          "POST http://shop.test/upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\n");
      // The proxy may send a head together with its body when both come in one read, but a head
      // whose body has not come must not wait for it: the host (and its routing) sees it now.
      await().atMost(Duration.ofSeconds(5)).until(() -> backend.requests.size() == 2);
      send(socket, "hello");
      assertThat(readReply(socket.getInputStream()))
          .startsWith("HTTP/1.1 200")
          .endsWith("a got 5 bytes");
    }
  }

  @Test
  void pipelinedRequestsWithBodiesAreAnsweredInOrder() throws Exception {
    HttpProxy proxy = shopProxy(backend("a"), UnaryOperator.identity());
    String post =
        "POST http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\nContent-Length: %d\r\n\r\n";
    try (Socket socket = connect(proxy)) {
      // Three requests in one write, so in one read of the proxy's: heads and bodies interleaved.
      send(
          socket,
          post.formatted(3)
              + "abc"
              + "GET http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n"
              + post.formatted(4)
              + "wxyz");
      InputStream in = socket.getInputStream();
      assertThat(readReply(in)).startsWith("HTTP/1.1 200").endsWith("a got 3 bytes");
      assertThat(readReply(in)).startsWith("HTTP/1.1 200").endsWith("\r\n\r\na");
      assertThat(readReply(in)).startsWith("HTTP/1.1 200").endsWith("a got 4 bytes");
    }
  }

  @Test
  void aCallerExpecting100ContinueIsToldToGoOnAndItsBodyArrives() throws Exception {
    HttpProxy proxy = shopProxy(backend("a"), UnaryOperator.identity());
    try (Socket socket = connect(proxy)) {
      send(
          socket,
          "PUT http://shop.test/ HTTP/1.1\r\nHost: shop.test\r\nExpect: 100-continue\r\n"
              + "Content-Length: 6\r\n\r\n");
      InputStream in = socket.getInputStream();
      assertThat(readHead(in)).startsWith("HTTP/1.1 100");
      send(socket, "abcdef");
      assertThat(readReply(in)).startsWith("HTTP/1.1 200").endsWith("a got 6 bytes");
    }
  }

  /** An outbound proxy routing shop.test to one backend, with this header timeout. */
  private HttpProxy shopProxy(long headerTimeoutMillis) throws Exception {
    return shopProxy(backend("a"), builder -> builder.limits(64 * 1024, headerTimeoutMillis));
  }

  /** An outbound proxy routing shop.test to {@code backend}, built with {@code options}. */
  private HttpProxy shopProxy(Backend backend, UnaryOperator<HttpProxy.Builder> options)
      throws Exception {
    fixture
        .addCluster(cluster("c").build(), List.of(List.of(backend.address())))
        .addHost("shop.test", route("/", "c"));
    HttpProxy proxy =
        fixture.start(
            options.apply(
                HttpProxy.builder(fixture.group).outbound(new InetSocketAddress("127.0.0.1", 0))));
    proxy.apply(fixture.config());
    return proxy;
  }

  private static String rawExchange(InetSocketAddress address, String request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(address, 2000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      return readHead(socket.getInputStream());
    }
  }

  /** The head and the body (of the length the head gives) of the answer to {@code request}. */
  private static String rawReply(InetSocketAddress address, String request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(address, 2000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      return readReply(socket.getInputStream());
    }
  }

  /** One answer from {@code in}: its head and the body of the length the head gives. */
  private static String readReply(InputStream in) throws IOException {
    String head = readHead(in);
    int length =
        head.lines()
            .filter(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
            .map(line -> Integer.parseInt(line.substring(line.indexOf(':') + 1).trim()))
            .findFirst()
            .orElse(0);
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  /** A socket connected to {@code proxy}'s outbound listener; the caller closes it. */
  private static Socket connect(HttpProxy proxy) throws IOException {
    Socket socket = new Socket();
    socket.connect(proxy.outboundAddress().orElseThrow(), 2000);
    socket.setSoTimeout(5000);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
