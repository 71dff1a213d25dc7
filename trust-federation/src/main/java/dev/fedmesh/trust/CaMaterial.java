package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The four PEM files of Istio's {@code cacerts} layout, as text, before validation. A missing file
 * is empty, so that validation can say which one is missing.
 */
public record CaMaterial(
    Optional<String> rootCert,
    Optional<String> caCert,
    Optional<String> caKey,
    Optional<String> certChain) {
  public static final String ROOT_CERT = "root-cert.pem";
  public static final String CA_CERT = "ca-cert.pem";
  public static final String CA_KEY = "ca-key.pem";
  public static final String CERT_CHAIN = "cert-chain.pem";

  public CaMaterial {
    requireNonNull(rootCert, "rootCert");
    requireNonNull(caCert, "caCert");
    requireNonNull(caKey, "caKey");
    requireNonNull(certChain, "certChain");
  }

  public static CaMaterial of(String rootCert, String caCert, String caKey, String certChain) {
    return new CaMaterial(
        Optional.of(rootCert), Optional.of(caCert), Optional.of(caKey), Optional.of(certChain));
  }

  /** Reads the four files of {@code dir}; those that do not exist are left empty. */
  public static CaMaterial read(Path dir) {
    requireNonNull(dir, "dir");
    return new CaMaterial(
        readIfPresent(dir.resolve(ROOT_CERT)),
        readIfPresent(dir.resolve(CA_CERT)),
        readIfPresent(dir.resolve(CA_KEY)),
        readIfPresent(dir.resolve(CERT_CHAIN)));
  }

  private static Optional<String> readIfPresent(Path file) {
    try {
      // ISO-8859-1 reads any bytes; a file that is not PEM then fails as "no certificate".
      return Optional.of(Files.readString(file, StandardCharsets.ISO_8859_1));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
