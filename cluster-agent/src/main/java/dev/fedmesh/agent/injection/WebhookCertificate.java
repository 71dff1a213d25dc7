package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The webhook's serving certificate: given as PEM files, or generated at startup with a CA of its
 * own whose certificate is the {@code caBundle} the API server must trust. A generated CA signs
 * this one certificate and its key is then forgotten, so it can vouch for nothing else.
 */
public final class WebhookCertificate {
  private static final String SIGNATURE = "SHA256withECDSA";

  private final PrivateKey key;
  private final List<X509Certificate> chain;
  private final String caBundle;

  private WebhookCertificate(PrivateKey key, List<X509Certificate> chain, String caBundle) {
    this.key = key;
    this.chain = List.copyOf(chain);
    this.caBundle = caBundle;
  }

  /**
   * Generates an ECDSA P-256 certificate for {@code names} (DNS names such as {@code
   * fedmesh-agent.fedmesh-system.svc}, or IP literals), valid from now for {@code validity}.
   */
  public static WebhookCertificate generate(List<String> names, Clock clock, Duration validity) {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("names: none (expected: the webhook's DNS names)");
    }
    requireNonNull(clock, "clock");
    requireNonNull(validity, "validity");
    try {
      Instant now = clock.instant();
      Date notBefore = Date.from(now.minus(Duration.ofMinutes(5)));
      Date notAfter = Date.from(now.plus(validity));
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      SecureRandom random = new SecureRandom();

      KeyPair caKeys = ecKeyPair();
      X500Name caName = new X500Name("CN=fedmesh sidecar injector CA");
      JcaX509v3CertificateBuilder ca =
          new JcaX509v3CertificateBuilder(
              caName, serial(random), notBefore, notAfter, caName, caKeys.getPublic());
      ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      ca.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      ca.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          extensions.createSubjectKeyIdentifier(caKeys.getPublic()));
      X509Certificate caCertificate = certificate(ca.build(signer(caKeys.getPrivate())));

      KeyPair serverKeys = ecKeyPair();
      JcaX509v3CertificateBuilder server =
          new JcaX509v3CertificateBuilder(
              caCertificate,
              serial(random),
              notBefore,
              notAfter,
              new X500Name("CN=" + names.get(0)),
              serverKeys.getPublic());
      server.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      server.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      server.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      server.addExtension(Extension.subjectAlternativeName, false, subjectAltNames(names));
      server.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          extensions.createAuthorityKeyIdentifier(caCertificate));
      X509Certificate serverCertificate = certificate(server.build(signer(caKeys.getPrivate())));
      return new WebhookCertificate(
          serverKeys.getPrivate(), List.of(serverCertificate, caCertificate), pem(caCertificate));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot generate the webhook certificate", e);
    }
  }

  /**
   * Reads a certificate chain (leaf first) and its private key from PEM files, as a cert-manager
   * Secret mounts them ({@code tls.crt}, {@code tls.key}).
   */
  public static WebhookCertificate fromPem(Path certificates, Path privateKey) {
    requireNonNull(certificates, "certificates");
    requireNonNull(privateKey, "privateKey");
    List<X509Certificate> chain = new ArrayList<>();
    try (Reader reader = Files.newBufferedReader(certificates, StandardCharsets.UTF_8);
        PEMParser parser = new PEMParser(reader)) {
      Object item;
      while ((item = parser.readObject()) != null) {
        if (item instanceof X509CertificateHolder holder) {
          chain.add(certificate(holder));
        }
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "webhook certificate: '" + certificates + "' (expected: readable PEM certificates)", e);
    }
    if (chain.isEmpty()) {
      throw new IllegalArgumentException(
          "webhook certificate: '" + certificates + "' (expected: at least one PEM certificate)");
    }
    PrivateKey key;
    try (Reader reader = Files.newBufferedReader(privateKey, StandardCharsets.UTF_8);
        PEMParser parser = new PEMParser(reader)) {
      Object item = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (item instanceof PEMKeyPair pair) {
        key = converter.getKeyPair(pair).getPrivate();
      } else if (item instanceof PrivateKeyInfo info) {
        key = converter.getPrivateKey(info);
      } else {
        throw new IllegalArgumentException(
            "webhook key: '" + privateKey + "' (expected: an unencrypted PEM private key)");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "webhook key: '" + privateKey + "' (expected: a readable PEM private key)", e);
    }
    return new WebhookCertificate(key, chain, null);
  }

  /** The PEM the API server must trust, when the certificate was generated here. */
  public Optional<String> caBundle() {
    return Optional.ofNullable(caBundle);
  }

  /** The serving certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** A server-side TLS context presenting this certificate. */
  public SSLContext sslContext() {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] password = new char[0];
      store.setKeyEntry("webhook", key, password, chain.toArray(X509Certificate[]::new));
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build the webhook's TLS context", e);
    }
  }

  private static KeyPair ecKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(127, random).add(BigInteger.ONE);
  }

  private static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
    return new JcaContentSignerBuilder(SIGNATURE).build(key);
  }

  private static X509Certificate certificate(X509CertificateHolder holder)
      throws GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(holder);
  }

  private static GeneralNames subjectAltNames(List<String> names) throws IOException {
    List<GeneralName> alternatives = new ArrayList<>();
    for (String name : names) {
      boolean ip = name.matches("[0-9.]+") || name.contains(":");
      if (ip) {
        // A literal: no lookup happens.
        alternatives.add(
            new GeneralName(
                GeneralName.iPAddress,
                new org.bouncycastle.asn1.DEROctetString(
                    InetAddress.getByName(name).getAddress())));
      } else {
        alternatives.add(new GeneralName(GeneralName.dNSName, name));
      }
    }
    return new GeneralNames(alternatives.toArray(GeneralName[]::new));
  }

  private static String pem(X509Certificate certificate) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(certificate);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
