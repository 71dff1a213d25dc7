package dev.fedmesh.trust;

import java.io.IOException;
import java.security.PrivateKey;
import java.security.interfaces.ECKey;
import java.util.function.Supplier;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.DefaultDigestAlgorithmIdentifierFinder;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcECContentSignerBuilder;
import org.bouncycastle.operator.bc.BcECContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;

/**
 * Signing and verification for certificates and CSRs. ECDSA runs on BouncyCastle's lightweight
 * implementation, several times faster than the JDK 17 one (its P-256 arithmetic and fixed-point
 * precomputation); RSA stays on the JDK's providers, which also cover RSASSA-PSS.
 */
final class Crypto {
  private static final DefaultSignatureAlgorithmIdentifierFinder SIGNATURES =
      new DefaultSignatureAlgorithmIdentifierFinder();
  private static final DefaultDigestAlgorithmIdentifierFinder DIGESTS =
      new DefaultDigestAlgorithmIdentifierFinder();

  private Crypto() {}

  /**
   * A source of fresh signers for {@code key} (a {@link ContentSigner} holds per-signature state),
   * with the key converted once.
   */
  static Supplier<ContentSigner> signers(PrivateKey key) {
    String algorithm = KeyChecks.signatureAlgorithm(key);
    try {
      if (key instanceof ECKey) {
        AlgorithmIdentifier signature = SIGNATURES.find(algorithm);
        AlgorithmIdentifier digest = DIGESTS.find(signature);
        AsymmetricKeyParameter parameter = PrivateKeyFactory.createKey(key.getEncoded());
        return () -> {
          try {
            return new BcECContentSignerBuilder(signature, digest).build(parameter);
          } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign: " + e.getMessage(), e);
          }
        };
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("key: unreadable (" + e.getMessage() + ")", e);
    }
    return () -> {
      try {
        return new JcaContentSignerBuilder(algorithm).build(key);
      } catch (OperatorCreationException e) {
        throw new IllegalStateException("cannot sign: " + e.getMessage(), e);
      }
    };
  }

  static ContentSigner signer(PrivateKey key) {
    return signers(key).get();
  }

  /** A verifier for signatures by {@code key}, which the caller already checked is supported. */
  static ContentVerifierProvider verifier(SubjectPublicKeyInfo key)
      throws OperatorCreationException {
    if (key.getAlgorithm().getAlgorithm().equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      try {
        return new BcECContentVerifierProviderBuilder(DIGESTS)
            .build(PublicKeyFactory.createKey(key));
      } catch (IOException e) {
        throw new OperatorCreationException("unreadable key: " + e.getMessage(), e);
      }
    }
    try {
      return new JcaContentVerifierProviderBuilder()
          .build(
              java.security.KeyFactory.getInstance("RSA")
                  .generatePublic(new java.security.spec.X509EncodedKeySpec(key.getEncoded())));
    } catch (java.security.GeneralSecurityException | IOException e) {
      throw new OperatorCreationException("unreadable key: " + e.getMessage(), e);
    }
  }
}
