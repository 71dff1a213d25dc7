package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Set;

/**
 * A component's SVID and trust roots on disk, in the layout Istio uses for its certificates: {@code
 * cert-chain.pem} (leaf first), {@code key.pem} (written 0600) and {@code root-cert.pem}. The
 * controller reads its serving identity this way; {@code fedmesh lab up} and {@code fedmesh ca}
 * write it.
 */
public final class SvidFiles {
  public static final String CERT_CHAIN = "cert-chain.pem";
  public static final String KEY = "key.pem";
  public static final String ROOTS = "root-cert.pem";

  private SvidFiles() {}

  /** An SVID with its key, and the roots its peers chain to. */
  public record Loaded(SvidCredential credential, TrustBundleSet roots) {
    public Loaded {
      requireNonNull(credential, "credential");
      requireNonNull(roots, "roots");
    }

    public SpiffeId id() {
      return credential.svid().id();
    }
  }

  /**
   * Reads and checks the three files: the key must match the leaf, and the chain must be a valid
   * SVID under the roots now.
   *
   * @throws IllegalArgumentException naming the file and the problem
   */
  public static Loaded read(Path dir, Clock clock) {
    requireNonNull(dir, "dir");
    String chainPem = readString(dir.resolve(CERT_CHAIN));
    String keyPem = readString(dir.resolve(KEY));
    String rootsPem = readString(dir.resolve(ROOTS));
    X509Svid svid;
    try {
      svid = X509Svid.of(Pem.certificates(chainPem, CERT_CHAIN));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(dir.resolve(CERT_CHAIN) + ": " + e.getMessage(), e);
    }
    java.security.PrivateKey key = Pem.privateKey(keyPem, dir.resolve(KEY).toString());
    if (!KeyChecks.matches(key, svid.leaf().getPublicKey())) {
      throw new IllegalArgumentException(
          dir.resolve(KEY) + ": does not match the public key of " + dir.resolve(CERT_CHAIN));
    }
    TrustBundleSet roots = TrustBundleSet.ofRootsPem(rootsPem, dir.resolve(ROOTS).toString());
    List<String> problems = SvidVerifier.of(roots, clock).problems(svid.chain());
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          dir.resolve(CERT_CHAIN)
              + ": not a valid SVID under "
              + dir.resolve(ROOTS)
              + ": "
              + String.join("; ", problems));
    }
    return new Loaded(SvidCredential.of(svid, key), roots);
  }

  /** Writes the three files, the key readable by its owner only. */
  public static void write(
      Path dir, SvidCredential credential, List<java.security.cert.X509Certificate> roots) {
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(CERT_CHAIN), Pem.encode(credential.svid().chain()));
      Path key = dir.resolve(KEY);
      Files.deleteIfExists(key);
      Files.createFile(
          key,
          PosixFilePermissions.asFileAttribute(
              Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
      Files.writeString(key, Pem.encode(credential.privateKey()));
      Files.writeString(dir.resolve(ROOTS), Pem.encode(roots));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
    }
  }

  private static String readString(Path file) {
    try {
      return Files.readString(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": missing", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
