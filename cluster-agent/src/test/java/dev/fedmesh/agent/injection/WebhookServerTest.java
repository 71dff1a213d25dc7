package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.agent.status.AgentMetrics;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WebhookServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private WebhookCertificate certificate;
  private AgentMetrics metrics;
  private WebhookServer server;
  private SSLContext tls;

  @BeforeEach
  void setUp() throws Exception {
    certificate =
        WebhookCertificate.generate(
            List.of("fedmesh-agent.fedmesh-system.svc", "127.0.0.1"),
            Clock.systemUTC(),
            Duration.ofDays(365));
    metrics = new AgentMetrics();
    SidecarInjector injector =
        new SidecarInjector(
            new InjectionSettings(
                "proxy:1",
                "proxy-init:1",
                "east",
                "east",
                "fedmesh.local",
                "ctl:15010",
                "ca:15012",
                1337,
                true),
            namespace -> Optional.of(Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled")));
    server =
        WebhookServer.start(new InetSocketAddress("127.0.0.1", 0), certificate, injector, metrics);
    tls = trusting(certificate.caBundle().orElseThrow());
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  @Test
  void reviewOverHttpsTrustingOnlyTheGeneratedCaIsAnsweredWithAPatch() throws Exception {
    Response response =
        exchange(
            "POST", SidecarInjectorTest.bytes(SidecarInjectorTest.review("deployment-pod.json")));

    assertThat(response.status()).isEqualTo(200);
    assertThat(response.contentType()).startsWith("application/json");
    JsonNode review = JSON.readTree(response.body());
    assertThat(review.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
    assertThat(review.path("kind").asText()).isEqualTo("AdmissionReview");
    assertThat(review.at("/response/allowed").asBoolean()).isTrue();
    assertThat(review.at("/response/patchType").asText()).isEqualTo("JSONPatch");
    assertThat(metrics()).contains("fedmesh_agent_injections_total{outcome=\"injected\"} 1.0");
  }

  @Test
  void malformedBodyGetsHttp400WithTheReason() throws Exception {
    Response response = exchange("POST", "not json".getBytes(StandardCharsets.UTF_8));

    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).isEqualTo("body: not JSON (expected: an AdmissionReview)\n");
    assertThat(metrics()).contains("fedmesh_agent_injections_total{outcome=\"malformed\"} 1.0");
  }

  @Test
  void getIsNotAReview() throws Exception {
    Response response = exchange("GET", null);

    assertThat(response.status()).isEqualTo(405);
    assertThat(response.allow()).isEqualTo("POST");
  }

  @Test
  void certificateNamesTheServiceAndItsCaIsNotTheServingCertificate() throws Exception {
    X509Certificate serving = certificate.certificate();
    X509Certificate ca = parse(certificate.caBundle().orElseThrow());

    List<Object> names =
        serving.getSubjectAlternativeNames().stream()
            .map(name -> (Object) String.valueOf(name.get(1)))
            .toList();
    assertThat(names).containsExactly("fedmesh-agent.fedmesh-system.svc", "127.0.0.1");
    assertThat(serving.getBasicConstraints()).as("not a CA").isEqualTo(-1);
    assertThat(ca.getBasicConstraints()).as("a CA that signs no CAs").isEqualTo(0);
    serving.verify(ca.getPublicKey());
  }

  private record Response(int status, String contentType, String allow, String body) {}

  /** One request over HTTPS, checking the server's certificate against the generated CA only. */
  private Response exchange(String method, byte[] body) throws Exception {
    URL url = URI.create("https://127.0.0.1:" + server.address().getPort() + "/inject").toURL();
    HttpsURLConnection connection = (HttpsURLConnection) url.openConnection();
    try {
      connection.setSSLSocketFactory(tls.getSocketFactory());
      connection.setRequestMethod(method);
      if (body != null) {
        connection.setDoOutput(true);
        connection.setRequestProperty("Content-Type", "application/json");
        try (OutputStream out = connection.getOutputStream()) {
          out.write(body);
        }
      }
      int status = connection.getResponseCode();
      InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
      String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return new Response(
          status, connection.getContentType(), connection.getHeaderField("Allow"), text);
    } finally {
      connection.disconnect();
    }
  }

  private String metrics() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    metrics.write(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  private static SSLContext trusting(String caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", parse(caPem));
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }

  private static X509Certificate parse(String pem) throws Exception {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }
}
