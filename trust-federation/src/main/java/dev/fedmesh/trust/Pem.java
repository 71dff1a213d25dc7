package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * Reads and writes the PEM text that certificates, keys and CSRs travel in. Errors name the source
 * (usually a file name) and what was expected there.
 */
public final class Pem {
  private Pem() {}

  /** Every {@code CERTIFICATE} block of {@code pem}, in order; at least one. */
  public static List<X509Certificate> certificates(String pem, String source) {
    requireNonNull(pem, "pem");
    requireNonNull(source, "source");
    List<X509Certificate> certificates = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object;
      while ((object = readObject(parser, source)) != null) {
        if (!(object instanceof X509CertificateHolder holder)) {
          throw new IllegalArgumentException(
              source + ": holds " + describe(object) + " (expected: only CERTIFICATE blocks)");
        }
        certificates.add(certificate(holder.getEncoded(), source));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(
          source + ": no certificate (expected: one or more PEM CERTIFICATE blocks)");
    }
    return List.copyOf(certificates);
  }

  /**
   * The one private key in {@code pem}: PKCS#8 ({@code PRIVATE KEY}), or the OpenSSL forms {@code
   * EC PRIVATE KEY} and {@code RSA PRIVATE KEY}. Encrypted keys are refused.
   */
  public static PrivateKey privateKey(String pem, String source) {
    requireNonNull(pem, "pem");
    requireNonNull(source, "source");
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
    PrivateKey key = null;
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object;
      while ((object = readObject(parser, source)) != null) {
        PrivateKey found;
        if (object instanceof PrivateKeyInfo info) {
          found = converter.getPrivateKey(info);
        } else if (object instanceof PEMKeyPair pair) {
          found = converter.getKeyPair(pair).getPrivate();
        } else if (object instanceof PKCS8EncryptedPrivateKeyInfo
            || object instanceof PEMEncryptedKeyPair) {
          throw new IllegalArgumentException(
              source + ": the key is encrypted (expected: an unencrypted private key)");
        } else {
          continue; // e.g. EC PARAMETERS, which openssl ecparam -genkey writes before the key
        }
        if (key != null) {
          throw new IllegalArgumentException(
              source + ": several private keys (expected: exactly one)");
        }
        key = found;
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          source + ": unreadable private key (" + e.getMessage() + ")", e);
    }
    if (key == null) {
      throw new IllegalArgumentException(
          source + ": no private key (expected: a PEM PRIVATE KEY block)");
    }
    return key;
  }

  /** The DER bytes of the one {@code CERTIFICATE REQUEST} block in {@code pem}. */
  public static byte[] csr(String pem, String source) {
    requireNonNull(pem, "pem");
    requireNonNull(source, "source");
    byte[] der = null;
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object;
      while ((object = readObject(parser, source)) != null) {
        if (!(object instanceof PKCS10CertificationRequest request)) {
          throw new IllegalArgumentException(
              source
                  + ": holds "
                  + describe(object)
                  + " (expected: one CERTIFICATE REQUEST block)");
        }
        if (der != null) {
          throw new IllegalArgumentException(
              source + ": several certificate requests (expected: exactly one)");
        }
        der = request.getEncoded();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (der == null) {
      throw new IllegalArgumentException(
          source + ": no certificate request (expected: a PEM CERTIFICATE REQUEST block)");
    }
    return der;
  }

  /** The certificates as consecutive PEM blocks. */
  public static String encode(List<X509Certificate> certificates) {
    requireNonNull(certificates, "certificates");
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      for (X509Certificate certificate : certificates) {
        writer.writeObject(certificate);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The key as a PKCS#8 {@code PRIVATE KEY} block. */
  public static String encode(PrivateKey key) {
    requireNonNull(key, "key");
    return write(new PemObject("PRIVATE KEY", key.getEncoded()));
  }

  /** DER CSR bytes as a {@code CERTIFICATE REQUEST} block. */
  public static String encodeCsr(byte[] der) {
    requireNonNull(der, "der");
    return write(new PemObject("CERTIFICATE REQUEST", der));
  }

  /** Parses one DER certificate. */
  static X509Certificate certificate(byte[] der, String source) {
    try {
      return (X509Certificate)
          CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          source + ": unreadable certificate (" + e.getMessage() + ")", e);
    }
  }

  private static Object readObject(PEMParser parser, String source) {
    try {
      return parser.readObject();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(source + ": unreadable PEM (" + e.getMessage() + ")", e);
    }
  }

  private static String write(PemObject object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static String describe(Object object) {
    if (object instanceof X509CertificateHolder) {
      return "a CERTIFICATE";
    }
    if (object instanceof PKCS10CertificationRequest) {
      return "a CERTIFICATE REQUEST";
    }
    if (object instanceof PrivateKeyInfo
        || object instanceof PEMKeyPair
        || object instanceof PKCS8EncryptedPrivateKeyInfo
        || object instanceof PEMEncryptedKeyPair) {
      return "a PRIVATE KEY";
    }
    return "a " + object.getClass().getSimpleName();
  }
}
