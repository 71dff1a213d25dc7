package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;

/**
 * Key identifiers as lower-case hex, to name which CA issued a certificate: a CA's subject key
 * identifier equals the authority key identifier of every certificate it signs.
 */
public final class KeyIdentifiers {
  private KeyIdentifiers() {}

  /** The certificate's own key identifier (a CA's: what its certificates point to). */
  public static Optional<String> subject(X509Certificate certificate) {
    return CertificateFacts.subjectKeyId(requireNonNull(certificate, "certificate"))
        .map(HexFormat.of()::formatHex);
  }

  /** The key identifier of the CA that signed the certificate. */
  public static Optional<String> authority(X509Certificate certificate) {
    byte[] value =
        requireNonNull(certificate, "certificate")
            .getExtensionValue(Extension.authorityKeyIdentifier.getId());
    if (value == null) {
      return Optional.empty();
    }
    byte[] keyId =
        AuthorityKeyIdentifier.getInstance(ASN1OctetString.getInstance(value).getOctets())
            .getKeyIdentifierOctets();
    return Optional.ofNullable(keyId).map(HexFormat.of()::formatHex);
  }
}
