package dev.fedmesh.deploy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * An AdmissionReview POSTed to the injection webhook as the API server sends it: over HTTPS,
 * trusting only the MutatingWebhookConfiguration's caBundle and requiring a certificate for the
 * Service's DNS name (the API server dials {@code <service>.<namespace>.svc}).
 */
final class WebhookCall {
  /** The webhook's answer. */
  record Answer(int status, String body) {}

  private WebhookCall() {}

  static Answer post(URI uri, String caBundlePem, String dnsName, byte[] review) throws Exception {
    HttpsURLConnection connection = (HttpsURLConnection) uri.toURL().openConnection();
    connection.setSSLSocketFactory(trusting(caBundlePem).getSocketFactory());
    // The test dials 127.0.0.1; what matters is that the certificate is valid for the name.
    connection.setHostnameVerifier(
        (host, session) -> {
          try {
            X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
            return leaf.getSubjectAlternativeNames() != null
                && leaf.getSubjectAlternativeNames().stream()
                    .anyMatch((List<?> name) -> dnsName.equals(name.get(1)));
          } catch (Exception e) {
            return false;
          }
        });
    connection.setRequestMethod("POST");
    connection.setDoOutput(true);
    connection.setRequestProperty("Content-Type", "application/json");
    try (OutputStream body = connection.getOutputStream()) {
      body.write(review);
    }
    int status = connection.getResponseCode();
    try (InputStream answer =
        status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
      return new Answer(
          status, answer == null ? "" : new String(answer.readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      connection.disconnect();
    }
  }

  private static SSLContext trusting(String pem) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    int i = 0;
    for (Certificate certificate :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      store.setCertificateEntry("ca-" + i++, certificate);
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
