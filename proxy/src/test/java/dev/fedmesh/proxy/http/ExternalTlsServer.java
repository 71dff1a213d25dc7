package dev.fedmesh.proxy.http;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An HTTPS server outside the mesh, for TLS origination tests: a certificate for {@code names} from
 * a test CA of its own (whose PEM is {@link #caFile}), answering {@code <name> over TLS to <SNI>}
 * and remembering each request's SNI.
 */
final class ExternalTlsServer implements AutoCloseable {
  private final HttpsServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final Path caFile;

  /** The SNI of every request served, in order ("" for none). */
  final ConcurrentLinkedQueue<String> serverNames = new ConcurrentLinkedQueue<>();

  ExternalTlsServer(String name, Path directory, List<String> names) throws Exception {
    KeyPair caKeys = ecKeys();
    X500Name caName = new X500Name("CN=external test CA");
    Date from = Date.from(Instant.now().minus(Duration.ofMinutes(5)));
    Date to = Date.from(Instant.now().plus(Duration.ofHours(1)));
    JcaX509v3CertificateBuilder ca =
        new JcaX509v3CertificateBuilder(
            caName, BigInteger.ONE, from, to, caName, caKeys.getPublic());
    ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    ca.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign));
    X509Certificate caCertificate = sign(ca, caKeys);

    KeyPair serverKeys = ecKeys();
    JcaX509v3CertificateBuilder leaf =
        new JcaX509v3CertificateBuilder(
            caName,
            BigInteger.TWO,
            from,
            to,
            new X500Name("CN=" + names.get(0)),
            serverKeys.getPublic());
    leaf.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    leaf.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            names.stream()
                .map(n -> new GeneralName(GeneralName.dNSName, n))
                .toArray(GeneralName[]::new)));
    X509Certificate serverCertificate = sign(leaf, caKeys);

    caFile = directory.resolve(name + "-ca.pem");
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(caCertificate);
    }
    Files.writeString(caFile, pem.toString());

    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(
        "server",
        serverKeys.getPrivate(),
        new char[0],
        new X509Certificate[] {serverCertificate, caCertificate});
    KeyManagerFactory factory =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(keys, new char[0]);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(factory.getKeyManagers(), null, null);

    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.setExecutor(executor);
    server.createContext(
        "/",
        exchange -> {
          String sni = "";
          if (exchange instanceof HttpsExchange https
              && https.getSSLSession() instanceof ExtendedSSLSession session) {
            sni =
                session.getRequestedServerNames().stream()
                    .filter(SNIHostName.class::isInstance)
                    .map(n -> ((SNIHostName) n).getAsciiName())
                    .findFirst()
                    .orElse("");
          }
          serverNames.add(sni);
          exchange.getRequestBody().readAllBytes();
          byte[] body = (name + " over TLS to " + sni).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
  }

  Path caFile() {
    return caFile;
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder builder, KeyPair issuer)
      throws Exception {
    return new JcaX509CertificateConverter()
        .getCertificate(
            builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
  }

  @Override
  public void close() throws IOException, InterruptedException {
    server.stop(0);
    executor.shutdownNow();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }
}
