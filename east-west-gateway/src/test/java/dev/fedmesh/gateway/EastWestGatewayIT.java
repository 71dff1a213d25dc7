package dev.fedmesh.gateway;

import static dev.fedmesh.gateway.GatewayConfigs.CART;
import static dev.fedmesh.gateway.GatewayConfigs.PAYMENTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.testkit.FreePorts;
import dev.fedmesh.trust.SvidCredential;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway on real sockets on loopback, between a workload of the west cluster and a workload of
 * the east cluster that talk mutual TLS with SPIFFE certificates, as sidecars do.
 *
 * <p>The JDK's TLS server refuses a ClientHello whose server name has underscores, as Istio's
 * {@code outbound_.<port>_.<subset>_.<fqdn>} names have; the test JVM runs with {@code
 * -Djdk.tls.server.disableExtensions=server_name} so that the backend ignores the name (see the
 * module's pom).
 */
class EastWestGatewayIT {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final MeshPki pki = new MeshPki();
  private final SvidCredential payments = pki.eastWorkload("default", "payments");
  private final SvidCredential cart = pki.westWorkload("shop", "cart");
  private final SSLContext client = pki.tls(cart);
  private final List<AutoCloseable> running = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private TlsBackend backend;
  private DirectConfigSource source;
  private EastWestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    backend = new TlsBackend("payments-1", pki.tls(payments), payments);
    running.add(backend);
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.drain(Duration.ZERO).join();
    }
    for (int i = running.size() - 1; i >= 0; i--) {
      running.get(i).close();
    }
  }

  private EastWestGateway startGateway(
      dev.fedmesh.proxy.xds.ProxyConfig config, Duration helloTimeout) {
    source = config == null ? new DirectConfigSource() : new DirectConfigSource(config);
    gateway =
        EastWestGateway.builder(source)
            .listen(new InetSocketAddress("127.0.0.1", 0))
            .admin(new InetSocketAddress("127.0.0.1", 0))
            .helloTimeout(helloTimeout)
            .workerThreads(2)
            .drainTimeout(Duration.ofSeconds(5))
            .start();
    return gateway;
  }

  private EastWestGateway startGateway(dev.fedmesh.proxy.xds.ProxyConfig config) {
    return startGateway(config, Duration.ofSeconds(10));
  }

  /** A TLS connection through the gateway asking for {@code sni} (none when null). */
  private SSLSocket connect(String sni) throws IOException {
    SSLSocket socket =
        (SSLSocket)
            client
                .getSocketFactory()
                .createSocket(gateway.address().getAddress(), gateway.address().getPort());
    socket.setSoTimeout((int) WAIT.toMillis());
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setServerNames(sni == null ? List.of() : List.of(TlsHellos.hostName(sni)));
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    return socket;
  }

  /** Says hello with {@code text} and returns the backend's answer. */
  private static String ask(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(("hello " + text + "\n").getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
    return TlsBackend.readLine(socket.getInputStream());
  }

  private HttpResponse<String> admin(String path) throws Exception {
    InetSocketAddress address = gateway.adminAddress().orElseThrow();
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + address.getPort() + path))
            .timeout(WAIT)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Waits until the gateway closes a plain socket, and returns what it sent first (nothing). */
  private static byte[] readUntilClosed(Socket socket) throws IOException {
    socket.setSoTimeout((int) WAIT.toMillis());
    return socket.getInputStream().readAllBytes();
  }

  /** -1 once the peer has closed (cleanly or not); fails if the connection stays open. */
  private static int readAfterClose(Socket socket) throws IOException {
    try {
      return socket.getInputStream().read();
    } catch (java.net.SocketTimeoutException stillOpen) {
      throw new AssertionError("the connection is still open", stillOpen);
    } catch (IOException closed) {
      return -1;
    }
  }

  @Test
  void aClientReachesAnExportedServiceWithMutualTlsEndToEnd() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));

    try (SSLSocket socket = connect(PAYMENTS)) {
      // The handshake was with the backend itself: its certificate, and it saw the client's.
      assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(backend.certificate());
      assertThat(ask(socket, "from west"))
          .isEqualTo("payments-1 to spiffe://fedmesh.local/ns/shop/sa/cart: from west");
      assertThat(gateway.metrics().activeConnections(PAYMENTS)).isEqualTo(1);
    }

    assertThat(gateway.metrics().connections(PAYMENTS)).isEqualTo(1);
    assertThat(gateway.metrics().receivedBytes(PAYMENTS)).isPositive();
    assertThat(gateway.metrics().sentBytes(PAYMENTS)).isPositive();
    await().atMost(WAIT).until(() -> gateway.metrics().activeConnections(PAYMENTS) == 0);
    String metrics = admin("/metrics").body();
    assertThat(metrics).contains("fedmesh_gateway_connections_total{sni=\"" + PAYMENTS + "\"} 1.0");
  }

  @Test
  void largeStreamsPassIntactBothWays() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));
    int size = 16 * 1024 * 1024;
    byte[] data = new byte[size];
    new java.util.Random(7).nextBytes(data);

    try (SSLSocket socket = connect(PAYMENTS)) {
      OutputStream out = socket.getOutputStream();
      out.write(("sink " + size + "\n").getBytes(StandardCharsets.US_ASCII));
      out.write(data);
      out.flush();
      assertThat(TlsBackend.readLine(socket.getInputStream()))
          .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));

      out.write(("source " + size + "\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] received = in.readNBytes(size);
      assertThat(received).hasSize(size);
      for (int i = 0; i < size; i += 4093) {
        assertThat(received[i]).isEqualTo((byte) (i % 251));
      }
    }
    assertThat(gateway.metrics().receivedBytes(PAYMENTS)).isGreaterThan(size);
    assertThat(gateway.metrics().sentBytes(PAYMENTS)).isGreaterThan(size);
  }

  @Test
  void anUnexportedServiceIsRefusedAndNothingReachesAnyBackend() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));

    assertThatThrownBy(() -> connect(CART).close()).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> connect("payments.default.svc.cluster.local").close())
        .isInstanceOf(IOException.class);

    await().atMost(WAIT).until(() -> gateway.metrics().refused(RefusalReason.UNKNOWN_SNI) == 2);
    assertThat(backend.acceptedConnections()).isZero();
    assertThat(admin("/metrics").body())
        .contains("fedmesh_gateway_refused_connections_total{reason=\"unknown_sni\"} 2.0")
        .doesNotContain(CART);
  }

  @Test
  void aClientWithoutServerNameIsRefused() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));

    assertThatThrownBy(() -> connect(null).close()).isInstanceOf(SSLException.class);

    await().atMost(WAIT).until(() -> gateway.metrics().refused(RefusalReason.NO_SNI) == 1);
    assertThat(backend.acceptedConnections()).isZero();
  }

  @Test
  void plaintextIsClosedWithoutAnswerOrForwarding() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));

    try (Socket socket = new Socket("127.0.0.1", gateway.address().getPort())) {
      socket
          .getOutputStream()
          .write(
              ("GET / HTTP/1.1\r\nHost: " + PAYMENTS + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntilClosed(socket)).isEmpty();
    }

    await().atMost(WAIT).until(() -> gateway.metrics().refused(RefusalReason.NOT_TLS) == 1);
    assertThat(backend.acceptedConnections()).isZero();
  }

  @Test
  void aHelloThatNeverCompletesIsClosedAtTheTimeout() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()), Duration.ofMillis(300));
    byte[] hello = TlsHellos.record(PAYMENTS);

    try (Socket socket = new Socket("127.0.0.1", gateway.address().getPort())) {
      socket.getOutputStream().write(hello, 0, hello.length / 2);
      assertThat(readUntilClosed(socket)).isEmpty();
    }

    assertThat(gateway.metrics().refused(RefusalReason.HELLO_TIMEOUT)).isEqualTo(1);
    assertThat(backend.acceptedConnections()).isZero();
  }

  @Test
  void anOversizedHelloIsClosed() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));

    try (Socket socket = new Socket("127.0.0.1", gateway.address().getPort())) {
      socket.getOutputStream().write(TlsHellos.claimingLength(1 << 20));
      assertThat(readUntilClosed(socket)).isEmpty();
    }

    await().atMost(WAIT).until(() -> gateway.metrics().refused(RefusalReason.HELLO_TOO_LARGE) == 1);
    assertThat(backend.acceptedConnections()).isZero();
  }

  @Test
  void aDeadEndpointIsSkippedWithinTheSameConnection() throws Exception {
    InetSocketAddress dead = new InetSocketAddress("127.0.0.1", FreePorts.next());
    startGateway(GatewayConfigs.of(PAYMENTS, dead, backend.address()));

    // Every connection succeeds, though the endpoints alternate: one that meets the dead endpoint
    // first is connected to the live one instead.
    for (int i = 0; i < 4; i++) {
      try (SSLSocket socket = connect(PAYMENTS)) {
        assertThat(ask(socket, "try " + i)).endsWith(": try " + i);
      }
    }

    assertThat(gateway.metrics().upstreamConnectFailures(PAYMENTS)).isPositive();
    assertThat(gateway.metrics().refused(RefusalReason.UPSTREAM_CONNECT_FAILED)).isZero();
    assertThat(backend.acceptedConnections()).isEqualTo(4);
  }

  @Test
  void whenEveryEndpointIsDeadTheConnectionIsClosed() throws Exception {
    startGateway(
        GatewayConfigs.of(
            PAYMENTS,
            new InetSocketAddress("127.0.0.1", FreePorts.next()),
            new InetSocketAddress("127.0.0.1", FreePorts.next())));

    assertThatThrownBy(() -> connect(PAYMENTS).close()).isInstanceOf(IOException.class);

    await()
        .atMost(WAIT)
        .until(() -> gateway.metrics().refused(RefusalReason.UPSTREAM_CONNECT_FAILED) == 1);
    // Once both were tried, the last attempt goes to one of them again, as Envoy's does.
    assertThat(gateway.metrics().upstreamConnectFailures(PAYMENTS))
        .isEqualTo(SniRoutes.DEFAULT_CONNECT_ATTEMPTS);
  }

  @Test
  void outlierDetectionEjectsADeadEndpointAfterItsConnectFailures() throws Exception {
    InetSocketAddress dead = new InetSocketAddress("127.0.0.1", FreePorts.next());
    startGateway(
        GatewayConfigs.withOutlierDetection(
            GatewayConfigs.of(PAYMENTS, dead, backend.address()),
            io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.newBuilder()
                .setSplitExternalLocalOriginErrors(true)
                .setConsecutiveLocalOriginFailure(com.google.protobuf.UInt32Value.of(2))
                .setBaseEjectionTime(com.google.protobuf.util.Durations.fromSeconds(60))
                .setMaxEjectionPercent(com.google.protobuf.UInt32Value.of(100))
                .build()));

    for (int i = 0; i < 10; i++) {
      try (SSLSocket socket = connect(PAYMENTS)) {
        assertThat(ask(socket, "try " + i)).endsWith(": try " + i);
      }
    }

    // Two failures eject the dead endpoint; the connections after that go straight to the live one.
    assertThat(gateway.metrics().upstreamConnectFailures(PAYMENTS)).isEqualTo(2);
    assertThat(backend.acceptedConnections()).isEqualTo(10);
  }

  @Test
  void aClientThatFinishesSendingStillGetsTheAnswer() throws Exception {
    // Half-close: a plain TCP endpoint that answers once its client has finished sending.
    AtomicInteger received = new AtomicInteger(-1);
    ServerSocket endpoint = new ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"));
    running.add(endpoint);
    CompletableFuture<Void> served =
        CompletableFuture.runAsync(
            () -> {
              try (Socket socket = endpoint.accept()) {
                byte[] all = socket.getInputStream().readAllBytes(); // until the client's FIN
                received.set(all.length);
                socket
                    .getOutputStream()
                    .write(("got " + all.length).getBytes(StandardCharsets.UTF_8));
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    startGateway(
        GatewayConfigs.of(PAYMENTS, new InetSocketAddress("127.0.0.1", endpoint.getLocalPort())));
    byte[] hello = TlsHellos.record(PAYMENTS);

    try (Socket socket = new Socket("127.0.0.1", gateway.address().getPort())) {
      socket.setSoTimeout((int) WAIT.toMillis());
      socket.getOutputStream().write(hello);
      socket.getOutputStream().write(new byte[1000]);
      socket.shutdownOutput();
      assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("got " + (hello.length + 1000));
    }
    served.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void readyOnceAConfigIsActiveAndConfigDumpShowsIt() throws Exception {
    startGateway(null);
    assertThat(admin("/ready").statusCode()).isEqualTo(503);
    try (Socket socket = new Socket("127.0.0.1", gateway.address().getPort())) {
      socket.getOutputStream().write(TlsHellos.record(PAYMENTS));
      assertThat(readUntilClosed(socket)).as("no config, no route").isEmpty();
    }

    source.set(GatewayConfigs.of(PAYMENTS, backend.address()));

    assertThat(admin("/ready").statusCode()).isEqualTo(200);
    String dump = admin("/config_dump").body();
    assertThat(dump)
        .contains("type.googleapis.com/envoy.admin.v3.ListenersConfigDump")
        .contains("\"serverNames\": [\"" + PAYMENTS + "\"]")
        .contains("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy")
        .contains("type.googleapis.com/envoy.admin.v3.EndpointsConfigDump")
        .contains("\"portValue\": " + backend.address().getPort());
    try (SSLSocket socket = connect(PAYMENTS)) {
      assertThat(ask(socket, "now")).endsWith(": now");
    }
  }

  @Test
  void aConfigChangeClosesTheDoorForNewConnectionsOnly() throws Exception {
    Map<String, List<InetSocketAddress>> both = new LinkedHashMap<>();
    both.put(PAYMENTS, List.of(backend.address()));
    both.put(CART, List.of(backend.address()));
    startGateway(GatewayConfigs.of(both));

    try (SSLSocket open = connect(CART)) {
      assertThat(ask(open, "before")).endsWith(": before");

      source.set(GatewayConfigs.of(PAYMENTS, backend.address())); // cart no longer exported

      assertThatThrownBy(() -> connect(CART).close()).isInstanceOf(IOException.class);
      assertThat(ask(open, "after")).endsWith(": after");
    }
  }

  @Test
  void drainLetsAnOpenStreamFinishAndRefusesNewConnections() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));
    SSLSocket open = connect(PAYMENTS);
    assertThat(ask(open, "before")).endsWith(": before");

    CompletableFuture<Void> drained = gateway.drain(Duration.ofSeconds(30));

    assertThat(admin("/ready").statusCode()).isEqualTo(503);
    assertThatThrownBy(() -> new Socket("127.0.0.1", gateway.address().getPort()).close())
        .isInstanceOf(IOException.class);
    assertThat(ask(open, "during")).endsWith(": during");
    assertThat(drained).isNotDone();

    open.close();

    drained.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void drainClosesWhatIsStillOpenAtTheDeadline() throws Exception {
    startGateway(GatewayConfigs.of(PAYMENTS, backend.address()));
    try (SSLSocket open = connect(PAYMENTS)) {
      assertThat(ask(open, "before")).endsWith(": before");

      gateway
          .drain(Duration.ofMillis(200))
          .get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);

      assertThat(readAfterClose(open)).as("the gateway closed the connection").isEqualTo(-1);
    }
  }
}
