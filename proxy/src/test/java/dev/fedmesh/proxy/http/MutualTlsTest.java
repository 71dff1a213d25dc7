package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fedmesh.proxy.tls.WorkloadCertificates;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.channel.DefaultChannelPipeline;
import io.netty.util.concurrent.EventExecutor;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Two sidecars with certificates from the cluster CA: client → mTLS → server → application. */
class MutualTlsTest {
  private static final String SNI = "outbound_.8080_._.payments.shop.svc.cluster.local";
  private static final String CLUSTER = "outbound|8080||payments.shop.svc.cluster.local";

  private final ProxyFixture fixture = new ProxyFixture();
  private MeshPki pki;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
    if (pki != null) {
      pki.close();
    }
  }

  private static TransportSocket mtls(StringMatcher peer) {
    return ProxyFixture.mtls(SNI, peer);
  }

  private record Mesh(
      HttpProxy client,
      HttpProxy server,
      Backend app,
      WorkloadCertificates clientCerts,
      WorkloadCertificates serverCerts) {}

  private Mesh mesh(Duration ttl, String serverAccount, StringMatcher peer) throws Exception {
    pki = new MeshPki(ttl);
    Backend app = fixture.closeLater(new Backend("payments"));
    WorkloadCertificates serverCerts = fixture.closeLater(pki.workload("shop", serverAccount));
    WorkloadCertificates clientCerts = fixture.closeLater(pki.workload("shop", "frontend"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> serverCerts.current().isPresent() && clientCerts.current().isPresent());
    HttpProxy server =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .identity(serverCerts.identity())
                .inbound(
                    new InboundPort(
                        new InetSocketAddress("127.0.0.1", 0),
                        app.address(),
                        InboundPort.AppProtocol.HTTP,
                        InboundPort.TlsMode.STRICT)));
    fixture
        .addCluster(
            cluster(CLUSTER).setTransportSocket(mtls(peer)).build(),
            List.of(List.of(server.inboundAddresses().get(0))))
        .addHost("payments.shop.svc.cluster.local:8080", route("/", CLUSTER));
    HttpProxy client =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .identity(clientCerts.identity())
                .outbound(new InetSocketAddress("127.0.0.1", 0)));
    client.apply(fixture.config());
    return new Mesh(client, server, app, clientCerts, serverCerts);
  }

  private static StringMatcher prefix(String prefix) {
    return StringMatcher.newBuilder().setPrefix(prefix).build();
  }

  private static HttpClient through(HttpProxy proxy) {
    return HttpClient.newBuilder()
        .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  private static HttpResponse<String> call(HttpClient client) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create("http://payments.shop.svc.cluster.local:8080/pay"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theServerApplicationSeesTheCallersSpiffeId() throws Exception {
    Mesh mesh = mesh(Duration.ofHours(1), "payments", prefix("spiffe://fedmesh.local/"));

    HttpResponse<String> response = call(through(mesh.client()));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("payments");
    assertThat(response.headers().firstValue("x-seen-client-cert"))
        .hasValue("URI=spiffe://fedmesh.local/ns/shop/sa/frontend");
  }

  @Test
  void strictModeRefusesPlaintextAndClientsWithoutAMeshCertificate() throws Exception {
    Mesh mesh = mesh(Duration.ofHours(1), "payments", prefix("spiffe://fedmesh.local/"));
    InetSocketAddress inbound = mesh.server().inboundAddresses().get(0);
    HttpClient plaintext = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    assertThatThrownBy(
            () ->
                plaintext.send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + inbound.getPort() + "/"))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);

    // TLS that trusts anything but presents no certificate: the handshake is refused.
    SSLContext anonymous = SSLContext.getInstance("TLS");
    anonymous.init(null, new TrustManager[] {new TrustEverything()}, new SecureRandom());
    HttpClient noCertificate =
        HttpClient.newBuilder().sslContext(anonymous).version(HttpClient.Version.HTTP_1_1).build();
    assertThatThrownBy(
            () ->
                noCertificate.send(
                    HttpRequest.newBuilder(
                            URI.create("https://127.0.0.1:" + inbound.getPort() + "/"))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);

    assertThat(mesh.app().served.get()).isZero();
    // The JDK client retries a GET once on a closed connection: at least one refusal each.
    assertThat(mesh.server().stats().rejectedCount()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void aRefusedHandshakeIsCountedWithoutAStackTraceAtThePipelinesTail() throws Exception {
    Mesh mesh = mesh(Duration.ofHours(1), "payments", prefix("spiffe://fedmesh.local/"));
    InetSocketAddress inbound = mesh.server().inboundAddresses().get(0);
    Logger tail = (Logger) LoggerFactory.getLogger(DefaultChannelPipeline.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    tail.addAppender(logged);
    try {
      SSLContext anonymous = SSLContext.getInstance("TLS");
      anonymous.init(null, new TrustManager[] {new TrustEverything()}, new SecureRandom());
      for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
        try (SSLSocket socket =
            (SSLSocket) anonymous.getSocketFactory().createSocket("127.0.0.1", inbound.getPort())) {
          socket.setSoTimeout(5_000);
          socket.setEnabledProtocols(new String[] {protocol});
          assertThatThrownBy(
                  () -> {
                    socket.startHandshake();
                    socket.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes());
                    if (socket.getInputStream().read() == -1) {
                      throw new EOFException(protocol + ": closed");
                    }
                  })
              .isInstanceOf(IOException.class);
        }
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> mesh.server().stats().rejectedCount() >= 2);
      // Whatever the refused connections left to do on the event loops is done after these.
      for (EventExecutor loop : fixture.group) {
        loop.submit(() -> {}).sync();
      }
    } finally {
      tail.detachAppender(logged);
    }

    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage).isEmpty();
    assertThat(mesh.app().served.get()).isZero();
  }

  @Test
  void aServerWithTheWrongIdentityIsRefusedByTheCaller() throws Exception {
    Mesh mesh =
        mesh(
            Duration.ofHours(1),
            "impostor",
            StringMatcher.newBuilder()
                .setExact("spiffe://fedmesh.local/ns/shop/sa/payments")
                .build());

    HttpResponse<String> response = call(through(mesh.client()));

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(mesh.app().served.get()).isZero();
  }

  @Test
  void certificatesRotateUnderLoadWithoutAFailedRequest() throws Exception {
    Mesh mesh = mesh(Duration.ofSeconds(3), "payments", prefix("spiffe://fedmesh.local/"));
    HttpClient client = through(mesh.client());
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    ExecutorService load = Executors.newFixedThreadPool(4);
    long serverIssuedBefore = mesh.serverCerts().issued();
    long clientIssuedBefore = mesh.clientCerts().issued();
    for (int worker = 0; worker < 4; worker++) {
      load.execute(
          () -> {
            while (!Thread.currentThread().isInterrupted()) {
              try {
                HttpResponse<String> response = call(client);
                if (response.statusCode() == 200) {
                  ok.incrementAndGet();
                } else {
                  failed.incrementAndGet();
                  firstFailure.compareAndSet(null, response.statusCode() + " " + response.body());
                }
              } catch (InterruptedException e) {
                return;
              } catch (Exception e) {
                failed.incrementAndGet();
                firstFailure.compareAndSet(null, e.toString());
              }
            }
          });
    }
    try {
      // Two renewals on each side (every ~1.5 s) while requests keep flowing.
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  mesh.serverCerts().issued() >= serverIssuedBefore + 2
                      && mesh.clientCerts().issued() >= clientIssuedBefore + 2);
    } finally {
      load.shutdownNow();
      load.awaitTermination(10, TimeUnit.SECONDS);
    }
    System.out.printf("rotation under load: ok=%d failed=%d%n", ok.get(), failed.get());
    assertThat(failed.get()).as("first failure: %s", firstFailure.get()).isZero();
    assertThat(ok.get()).isGreaterThan(100);
  }

  private static final class TrustEverything implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
