package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.tls.WorkloadCertificates;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;

/**
 * Two sidecars with certificates from one CA, as in a pod pair: frontend (v1, cluster east) calls
 * payments (v1, cluster west) over mTLS; payments' sidecar is STRICT in front of a {@link Backend}.
 */
final class MeshPair implements AutoCloseable {
  static final String HOST = "payments.shop.svc.cluster.local:8080";
  static final String SNI = "outbound_.8080_._.payments.shop.svc.cluster.local";
  static final String CLUSTER = "outbound|8080||payments.shop.svc.cluster.local";
  static final Workload FRONTEND = new Workload("frontend-v1", "shop", "frontend", "v1", "east");
  static final Workload PAYMENTS = new Workload("payments-v1", "shop", "payments", "v1", "west");

  final ProxyFixture fixture = new ProxyFixture();
  final MeshPki pki;
  final Backend app;
  final HttpProxy server;
  final HttpProxy client;

  /** An HTTP client whose proxy is the frontend's sidecar. */
  final HttpClient http;

  MeshPair() throws Exception {
    boolean started = false;
    pki = new MeshPki(Duration.ofHours(1));
    try {
      app = fixture.closeLater(new Backend("payments"));
      WorkloadCertificates serverCerts = fixture.closeLater(pki.workload("shop", "payments"));
      WorkloadCertificates clientCerts = fixture.closeLater(pki.workload("shop", "frontend"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> serverCerts.current().isPresent() && clientCerts.current().isPresent());
      server =
          fixture.start(
              HttpProxy.builder(fixture.group)
                  .identity(serverCerts.identity())
                  .workload(PAYMENTS)
                  .inbound(
                      new InboundPort(
                          new InetSocketAddress("127.0.0.1", 0),
                          app.address(),
                          InboundPort.AppProtocol.HTTP,
                          InboundPort.TlsMode.STRICT)));
      fixture
          .addCluster(
              cluster(CLUSTER)
                  .setTransportSocket(
                      ProxyFixture.mtls(
                          SNI, StringMatcher.newBuilder().setPrefix("spiffe://").build()))
                  .build(),
              List.of(List.of(server.inboundAddresses().get(0))))
          .addHost(HOST, route("/", CLUSTER));
      client =
          fixture.start(
              HttpProxy.builder(fixture.group)
                  .identity(clientCerts.identity())
                  .workload(FRONTEND)
                  .outbound(new InetSocketAddress("127.0.0.1", 0)));
      client.apply(fixture.config());
      http =
          HttpClient.newBuilder()
              .proxy(ProxySelector.of(client.outboundAddress().orElseThrow()))
              .version(HttpClient.Version.HTTP_1_1)
              .build();
      started = true;
    } finally {
      if (!started) {
        close();
      }
    }
  }

  @Override
  public void close() throws Exception {
    fixture.close();
    pki.close();
  }
}
