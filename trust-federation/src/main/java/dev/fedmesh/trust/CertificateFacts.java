package dev.fedmesh.trust;

import java.security.GeneralSecurityException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;

/** What a certificate says, read in the terms the SPIFFE X.509-SVID rules use. */
final class CertificateFacts {
  private static final int URI = 6;
  private static final String[] SAN_TYPES = {
    "otherName",
    "email",
    "DNS name",
    "x400Address",
    "directory name",
    "ediPartyName",
    "URI",
    "IP address",
    "registeredID"
  };

  private CertificateFacts() {}

  /** The URI subject alternative names, in order. */
  static List<String> uris(X509Certificate certificate) {
    List<String> uris = new ArrayList<>();
    for (List<?> name : sans(certificate)) {
      if (((Integer) name.get(0)) == URI) {
        uris.add(String.valueOf(name.get(1)));
      }
    }
    return uris;
  }

  /** Descriptions of the subject alternative names that are not URIs, e.g. {@code DNS name 'x'}. */
  static List<String> otherNames(X509Certificate certificate) {
    List<String> names = new ArrayList<>();
    for (List<?> name : sans(certificate)) {
      int type = (Integer) name.get(0);
      if (type != URI) {
        Object value = name.get(1);
        names.add(SAN_TYPES[type] + (value instanceof String text ? " '" + text + "'" : ""));
      }
    }
    return names;
  }

  /** The SPIFFE ID in the certificate's URI SAN, if it has exactly one parseable one. */
  static Optional<SpiffeId> spiffeId(X509Certificate certificate) {
    List<String> uris = uris(certificate);
    if (uris.size() != 1) {
      return Optional.empty();
    }
    try {
      return Optional.of(SpiffeId.parse(uris.get(0)));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  static boolean hasBasicConstraints(X509Certificate certificate) {
    return certificate.getExtensionValue(Extension.basicConstraints.getId()) != null;
  }

  static boolean isCa(X509Certificate certificate) {
    return certificate.getBasicConstraints() >= 0;
  }

  static boolean isCritical(X509Certificate certificate, String oid) {
    var critical = certificate.getCriticalExtensionOIDs();
    return critical != null && critical.contains(oid);
  }

  /** The pathLen constraint of a CA certificate, or empty when unlimited. */
  static Optional<Integer> pathLen(X509Certificate certificate) {
    int value = certificate.getBasicConstraints();
    return value < 0 || value == Integer.MAX_VALUE ? Optional.empty() : Optional.of(value);
  }

  static boolean hasKeyUsage(X509Certificate certificate) {
    return certificate.getKeyUsage() != null;
  }

  static boolean digitalSignature(X509Certificate certificate) {
    boolean[] usage = certificate.getKeyUsage();
    return usage != null && usage[0];
  }

  static boolean keyCertSign(X509Certificate certificate) {
    boolean[] usage = certificate.getKeyUsage();
    return usage != null && usage.length > 5 && usage[5];
  }

  static boolean crlSign(X509Certificate certificate) {
    boolean[] usage = certificate.getKeyUsage();
    return usage != null && usage.length > 6 && usage[6];
  }

  /** Whether {@code issuer} signed {@code certificate} (names chain and the signature verifies). */
  static boolean issuedBy(X509Certificate certificate, X509Certificate issuer) {
    if (!certificate.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
      return false;
    }
    try {
      certificate.verify(issuer.getPublicKey());
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  static boolean selfSigned(X509Certificate certificate) {
    return issuedBy(certificate, certificate);
  }

  /** The subject as RFC 2253 text, or {@code (empty subject)}. */
  static String subject(X509Certificate certificate) {
    String name = certificate.getSubjectX500Principal().getName();
    return name.isEmpty() ? "(empty subject)" : name;
  }

  /** The subject key identifier's key id, if the extension is present. */
  static Optional<byte[]> subjectKeyId(X509Certificate certificate) {
    byte[] value = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (value == null) {
      return Optional.empty();
    }
    return Optional.of(
        SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(value).getOctets())
            .getKeyIdentifier());
  }

  /** A one-line name for messages: the subject, or the SPIFFE ID when the subject is empty. */
  static String label(X509Certificate certificate) {
    String name = certificate.getSubjectX500Principal().getName();
    if (!name.isEmpty()) {
      return name;
    }
    List<String> uris = uris(certificate);
    return uris.isEmpty() ? "(empty subject)" : uris.get(0);
  }

  private static Collection<List<?>> sans(X509Certificate certificate) {
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      return names == null ? List.of() : names;
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException("subjectAltName: unreadable (" + e.getMessage() + ")", e);
    }
  }
}
