package dev.fedmesh.trust;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;

/** Key and signature-algorithm strength rules shared by CSR checks and CA validation. */
final class KeyChecks {
  static final String WORKLOAD_KEYS = "RSA >= 2048 or ECDSA P-256/P-384";
  static final String CA_KEYS = "RSA >= 2048 or ECDSA P-256/P-384/P-521";
  static final String SIGNATURES = "SHA-256, SHA-384 or SHA-512 with RSA or ECDSA";

  private static final int MAX_RSA_BITS = 16384;
  private static final Map<ASN1ObjectIdentifier, String> CURVES =
      Map.of(
          SECObjectIdentifiers.secp256r1, "P-256",
          SECObjectIdentifiers.secp384r1, "P-384",
          SECObjectIdentifiers.secp521r1, "P-521");
  private static final Set<ASN1ObjectIdentifier> STRONG_SIGNATURES =
      Set.of(
          PKCSObjectIdentifiers.sha256WithRSAEncryption,
          PKCSObjectIdentifiers.sha384WithRSAEncryption,
          PKCSObjectIdentifiers.sha512WithRSAEncryption,
          PKCSObjectIdentifiers.id_RSASSA_PSS,
          X9ObjectIdentifiers.ecdsa_with_SHA256,
          X9ObjectIdentifiers.ecdsa_with_SHA384,
          X9ObjectIdentifiers.ecdsa_with_SHA512);
  private static final DefaultAlgorithmNameFinder NAMES = new DefaultAlgorithmNameFinder();

  private KeyChecks() {}

  /** A human description such as {@code ECDSA P-256} or {@code RSA 2048 bits}. */
  static String describe(SubjectPublicKeyInfo key) {
    ASN1ObjectIdentifier algorithm = key.getAlgorithm().getAlgorithm();
    if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      try {
        return "RSA "
            + RSAPublicKey.getInstance(key.parsePublicKey()).getModulus().bitLength()
            + " bits";
      } catch (Exception e) {
        return "RSA (unreadable modulus)";
      }
    }
    if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      ASN1Primitive parameters =
          key.getAlgorithm().getParameters() == null
              ? null
              : key.getAlgorithm().getParameters().toASN1Primitive();
      if (!(parameters instanceof ASN1ObjectIdentifier curve)) {
        return "ECDSA with explicit curve parameters";
      }
      String known = CURVES.get(curve);
      if (known != null) {
        return "ECDSA " + known;
      }
      String name = ECNamedCurveTable.getName(curve);
      return "ECDSA " + (name != null ? name : "curve " + curve.getId());
    }
    if (algorithm.equals(EdECObjectIdentifiers.id_Ed25519)) {
      return "Ed25519";
    }
    if (algorithm.equals(EdECObjectIdentifiers.id_Ed448)) {
      return "Ed448";
    }
    return "key algorithm " + algorithm.getId();
  }

  static String describe(PublicKey key) {
    return describe(SubjectPublicKeyInfo.getInstance(key.getEncoded()));
  }

  /** Null when the key is acceptable, else a description of the key that is not. */
  static String weakKey(SubjectPublicKeyInfo key, boolean allowP521) {
    ASN1ObjectIdentifier algorithm = key.getAlgorithm().getAlgorithm();
    if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      try {
        int bits = RSAPublicKey.getInstance(key.parsePublicKey()).getModulus().bitLength();
        return bits >= 2048 && bits <= MAX_RSA_BITS ? null : describe(key);
      } catch (Exception e) {
        return describe(key);
      }
    }
    if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      String description = describe(key);
      boolean ok =
          description.equals("ECDSA P-256")
              || description.equals("ECDSA P-384")
              || (allowP521 && description.equals("ECDSA P-521"));
      return ok ? null : description;
    }
    return describe(key);
  }

  static String weakKey(PublicKey key, boolean allowP521) {
    return weakKey(SubjectPublicKeyInfo.getInstance(key.getEncoded()), allowP521);
  }

  /** Null when the signature algorithm is strong enough, else its name. */
  static String weakSignature(AlgorithmIdentifier algorithm) {
    return STRONG_SIGNATURES.contains(algorithm.getAlgorithm())
        ? null
        : NAMES.getAlgorithmName(algorithm);
  }

  static String weakSignature(String oid) {
    return weakSignature(new AlgorithmIdentifier(new ASN1ObjectIdentifier(oid)));
  }

  /** The JCA signature algorithm a CA with this key signs with. */
  static String signatureAlgorithm(PrivateKey key) {
    if (key instanceof ECKey ec) {
      int bits = ec.getParams().getCurve().getField().getFieldSize();
      return bits > 384 ? "SHA512withECDSA" : bits > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
    }
    if (key instanceof RSAKey) {
      return "SHA256withRSA";
    }
    throw new IllegalArgumentException(
        "key: " + key.getAlgorithm() + " (expected: an RSA or ECDSA private key)");
  }

  /**
   * Whether the private key belongs to the public key: a signature by one verifies with the other.
   */
  static boolean matches(PrivateKey privateKey, PublicKey publicKey) {
    if (!privateKey.getAlgorithm().equals(publicKey.getAlgorithm())) {
      return false;
    }
    try {
      byte[] probe = "fedmesh key match probe".getBytes(StandardCharsets.US_ASCII);
      String algorithm = signatureAlgorithm(privateKey);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }
}
