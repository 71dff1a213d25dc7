package dev.fedmesh.trust;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HexFormat;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;

/**
 * Builds CA certificates with the extensions RFC 5280, SPIFFE and {@code openssl -x509_strict}
 * want.
 */
final class CertificateMinter {
  /**
   * CA certificates start this much before "now", so a peer whose clock lags still accepts them.
   */
  static final Duration CA_BACKDATE = Duration.ofMinutes(1);

  private static final SecureRandom RANDOM = new SecureRandom();

  private CertificateMinter() {}

  static X509Certificate root(
      PublicKey publicKey,
      PrivateKey privateKey,
      X500Name subject,
      Instant notBefore,
      Instant notAfter,
      SpiffeId trustDomainId) {
    SubjectPublicKeyInfo key = SubjectPublicKeyInfo.getInstance(publicKey.getEncoded());
    byte[] keyId = keyId(key);
    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            subject, serial(), date(notBefore), date(notAfter), subject, key);
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId));
      if (trustDomainId != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, uriName(trustDomainId));
      }
    } catch (CertIOException e) {
      throw new UncheckedIOException(e);
    }
    return sign(builder, privateKey);
  }

  static X509Certificate intermediate(
      X509Certificate issuer,
      PrivateKey issuerKey,
      PublicKey publicKey,
      X500Name subject,
      Instant notBefore,
      Instant notAfter,
      SpiffeId trustDomainId,
      boolean nameConstrained) {
    SubjectPublicKeyInfo key = SubjectPublicKeyInfo.getInstance(publicKey.getEncoded());
    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
            serial(),
            date(notBefore),
            date(notAfter),
            subject,
            key);
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(
          Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId(key)));
      builder.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId(issuer));
      builder.addExtension(Extension.subjectAlternativeName, false, uriName(trustDomainId));
      if (nameConstrained) {
        // RFC 5280 4.2.1.10: a URI constraint names the host, here the trust domain; the
        // extension MUST be critical.
        GeneralSubtree permitted =
            new GeneralSubtree(
                new GeneralName(
                    GeneralName.uniformResourceIdentifier, trustDomainId.trustDomain().name()));
        builder.addExtension(
            Extension.nameConstraints,
            true,
            new NameConstraints(new GeneralSubtree[] {permitted}, null));
      }
    } catch (CertIOException e) {
      throw new UncheckedIOException(e);
    }
    return sign(builder, issuerKey);
  }

  /** A distinguished name {@code O=<organization>, CN=<commonName>}. */
  static X500Name name(String organization, String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, organization)
        .addRDN(BCStyle.CN, commonName)
        .build();
  }

  /** A short random tag that keeps the names of successive CA generations distinct. */
  static String generationTag() {
    byte[] bytes = new byte[4];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** A random positive 127-bit serial number, as CA/Browser Forum and RFC 5280 ask. */
  static BigInteger serial() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x40; // never zero, never negative, always 16 octets
    return new BigInteger(1, bytes);
  }

  /** RFC 5280 method 1: the SHA-1 of the subjectPublicKey bit string. */
  static byte[] keyId(SubjectPublicKeyInfo key) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(key.getPublicKeyData().getBytes());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The authority key identifier of certificates {@code issuer} signs: its own subject key
   * identifier when it has one (what verifiers match against), else the RFC 5280 key hash.
   */
  static AuthorityKeyIdentifier authorityKeyId(X509Certificate issuer) {
    byte[] keyId =
        CertificateFacts.subjectKeyId(issuer)
            .orElseGet(
                () -> keyId(SubjectPublicKeyInfo.getInstance(issuer.getPublicKey().getEncoded())));
    return new AuthorityKeyIdentifier(keyId);
  }

  static GeneralNames uriName(SpiffeId id) {
    return new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.uri()));
  }

  static Date date(Instant instant) {
    return Date.from(instant.truncatedTo(ChronoUnit.SECONDS));
  }

  static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) {
    return sign(builder, Crypto.signer(key));
  }

  static X509Certificate sign(X509v3CertificateBuilder builder, ContentSigner signer) {
    try {
      X509CertificateHolder holder = builder.build(signer);
      return Pem.certificate(holder.getEncoded(), "issued certificate");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
