package dev.fedmesh.trust;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Hand-made certificates for tests, including the wrong ones a CA of ours would never issue: each
 * call names exactly the extensions it wants.
 */
final class Forge {
  private final X500Name subject;
  private final KeyPair keys;
  private Instant notBefore = Instant.now().minusSeconds(60);
  private Instant notAfter = Instant.now().plusSeconds(3600);
  private final java.util.List<Object[]> extensions = new java.util.ArrayList<>();
  private String signatureAlgorithm;

  private Forge(String commonName, KeyPair keys) {
    this.subject =
        commonName.isEmpty()
            ? new X500Name(new org.bouncycastle.asn1.x500.RDN[0])
            : new X500Name("O=test, CN=" + commonName);
    this.keys = keys;
  }

  static Forge certificate(String commonName, KeyPair keys) {
    return new Forge(commonName, keys);
  }

  Forge validity(Instant notBefore, Instant notAfter) {
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    return this;
  }

  Forge extension(ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable value) {
    extensions.add(new Object[] {oid, critical, value});
    return this;
  }

  Forge ca(Integer pathLen) {
    return extension(
            Extension.basicConstraints,
            true,
            pathLen == null ? new BasicConstraints(true) : new BasicConstraints(pathLen))
        .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
  }

  Forge uri(String... uris) {
    GeneralName[] names = new GeneralName[uris.length];
    for (int i = 0; i < uris.length; i++) {
      names[i] = new GeneralName(GeneralName.uniformResourceIdentifier, uris[i]);
    }
    return extension(
        Extension.subjectAlternativeName, subject.getRDNs().length == 0, new GeneralNames(names));
  }

  Forge signatureAlgorithm(String algorithm) {
    this.signatureAlgorithm = algorithm;
    return this;
  }

  /** Self-signed. */
  X509Certificate selfSigned() {
    return sign(subject, keys.getPrivate(), null);
  }

  X509Certificate signedBy(X509Certificate issuer, PrivateKey issuerKey) {
    return sign(
        X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), issuerKey, issuer);
  }

  private X509Certificate sign(X500Name issuerName, PrivateKey issuerKey, X509Certificate issuer) {
    SubjectPublicKeyInfo key = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            issuerName,
            BigInteger.valueOf(System.nanoTime()).abs().add(BigInteger.ONE),
            Date.from(notBefore),
            Date.from(notAfter),
            subject,
            key);
    try {
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          new org.bouncycastle.asn1.x509.SubjectKeyIdentifier(CertificateMinter.keyId(key)));
      if (issuer != null) {
        builder.addExtension(
            Extension.authorityKeyIdentifier, false, CertificateMinter.authorityKeyId(issuer));
      }
      for (Object[] extension : extensions) {
        builder.addExtension(
            (ASN1ObjectIdentifier) extension[0],
            (Boolean) extension[1],
            (ASN1Encodable) extension[2]);
      }
      String algorithm =
          signatureAlgorithm != null ? signatureAlgorithm : KeyChecks.signatureAlgorithm(issuerKey);
      return Pem.certificate(
          builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)).getEncoded(),
          "forged");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
