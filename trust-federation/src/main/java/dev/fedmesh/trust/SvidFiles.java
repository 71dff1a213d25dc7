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
 * write it; {@link #watch} reads them again when a renewal rewrites them.
 */
public final class SvidFiles {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SvidFiles.class);
  public static final String CERT_CHAIN = "cert-chain.pem";
  public static final String KEY = "key.pem";
  public static final String ROOTS = "root-cert.pem";

  private SvidFiles() {}

  /** Where a component's SVID and roots come from now: fixed, or files read again on change. */
  public interface Source {
    /** The SVID to present now. */
    SvidCredential credential();

    /** The roots peers' certificates must chain to now. */
    TrustBundleSet roots();

    default SpiffeId id() {
      return credential().svid().id();
    }
  }

  /** An SVID with its key, and the roots its peers chain to. */
  public record Loaded(SvidCredential credential, TrustBundleSet roots) implements Source {
    public Loaded {
      requireNonNull(credential, "credential");
      requireNonNull(roots, "roots");
    }
  }

  /**
   * The three files of {@code dir}, checked as {@link #read} checks them, and read again whenever
   * one of them changes (a renewal writes new files), so a long-running component picks up a
   * re-issued certificate without a restart. A set that fails the checks is logged and the last
   * good one kept.
   *
   * @throws IllegalArgumentException naming the file and the problem when the first read fails
   */
  public static Watched watch(Path dir, Clock clock) {
    return watch(dir.resolve(CERT_CHAIN), dir.resolve(KEY), dir.resolve(ROOTS), clock);
  }

  /** Like {@link #watch(Path, Clock)}, for files named one by one. */
  public static Watched watch(Path certChain, Path key, Path roots, Clock clock) {
    return new Watched(certChain, key, roots, clock);
  }

  /** Files that are read again when they change; see {@link #watch}. */
  public static final class Watched implements Source {
    private final Path certChain;
    private final Path key;
    private final Path rootsFile;
    private final Clock clock;
    private List<java.nio.file.attribute.FileTime> seen = List.of();
    private Loaded current;

    private Watched(Path certChain, Path key, Path roots, Clock clock) {
      this.certChain = requireNonNull(certChain, "certChain");
      this.key = requireNonNull(key, "key");
      this.rootsFile = requireNonNull(roots, "roots");
      this.clock = requireNonNull(clock, "clock");
      this.current = load(certChain, key, roots, clock);
      this.seen = modified();
    }

    @Override
    public synchronized SvidCredential credential() {
      refresh();
      return current.credential();
    }

    @Override
    public synchronized TrustBundleSet roots() {
      refresh();
      return current.roots();
    }

    private void refresh() {
      List<java.nio.file.attribute.FileTime> now = modified();
      if (now.isEmpty() || now.equals(seen)) {
        return;
      }
      try {
        current = load(certChain, key, rootsFile, clock);
        seen = now;
        log.info("read a new certificate from {}: {}", certChain, current.credential());
      } catch (RuntimeException e) {
        log.warn("keeping the last good certificate: {}", e.getMessage());
      }
    }

    private List<java.nio.file.attribute.FileTime> modified() {
      try {
        return List.of(
            Files.getLastModifiedTime(certChain),
            Files.getLastModifiedTime(key),
            Files.getLastModifiedTime(rootsFile));
      } catch (IOException e) {
        return List.of();
      }
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
    return load(dir.resolve(CERT_CHAIN), dir.resolve(KEY), dir.resolve(ROOTS), clock);
  }

  private static Loaded load(Path chainFile, Path keyFile, Path rootsFile, Clock clock) {
    String chainPem = readString(chainFile);
    String keyPem = readString(keyFile);
    String rootsPem = readString(rootsFile);
    List<java.security.cert.X509Certificate> chain =
        Pem.certificates(chainPem, chainFile.toString());
    X509Svid svid;
    try {
      svid = X509Svid.of(chain);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(chainFile + ": " + e.getMessage(), e);
    }
    java.security.PrivateKey key = Pem.privateKey(keyPem, keyFile.toString());
    if (!KeyChecks.matches(key, svid.leaf().getPublicKey())) {
      throw new IllegalArgumentException(
          keyFile + ": does not match the public key of " + chainFile);
    }
    TrustBundleSet roots = TrustBundleSet.ofRootsPem(rootsPem, rootsFile.toString());
    List<String> problems = SvidVerifier.of(roots, clock).problems(svid.chain());
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          chainFile + ": not a valid SVID under " + rootsFile + ": " + String.join("; ", problems));
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
