package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * CA material on disk. A root lives in {@code root-cert.pem} and {@code root-key.pem}; a cluster CA
 * in Istio's {@code cacerts} layout ({@code root-cert.pem}, {@code ca-cert.pem}, {@code
 * ca-key.pem}, {@code cert-chain.pem}) plus a {@code trust-domain} file. Private keys are written
 * with mode 0600 from the moment they exist, and every file is replaced by an atomic rename.
 */
public final class CaFiles {
  public static final String ROOT_KEY = "root-key.pem";
  public static final String TRUST_DOMAIN = "trust-domain";

  private static final Set<PosixFilePermission> PRIVATE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC =
      PosixFilePermissions.fromString("rw-r--r--");
  private static final Set<PosixFilePermission> PRIVATE_DIR =
      PosixFilePermissions.fromString("rwx------");

  private CaFiles() {}

  /** Writes {@code root-cert.pem} and {@code root-key.pem} (0600) into {@code dir}. */
  public static void writeRoot(RootCa root, Path dir, boolean overwrite) {
    requireNonNull(root, "root");
    requireNonNull(dir, "dir");
    createDirectory(dir);
    refuseExisting(dir, overwrite, CaMaterial.ROOT_CERT, ROOT_KEY);
    writeFile(dir.resolve(ROOT_KEY), Pem.encode(root.key()), PRIVATE);
    writeFile(dir.resolve(CaMaterial.ROOT_CERT), Pem.encode(List.of(root.certificate())), PUBLIC);
  }

  /**
   * Reads a root from {@code dir}. Its trust domain is the one its certificate names, else {@code
   * trustDomain}, else {@link TrustDomain#DEFAULT}.
   */
  public static RootCa readRoot(Path dir, Optional<TrustDomain> trustDomain) {
    requireNonNull(dir, "dir");
    requireNonNull(trustDomain, "trustDomain");
    List<X509Certificate> certificates =
        Pem.certificates(read(dir.resolve(CaMaterial.ROOT_CERT)), CaMaterial.ROOT_CERT);
    if (certificates.size() != 1) {
      throw new IllegalArgumentException(
          CaMaterial.ROOT_CERT
              + ": "
              + certificates.size()
              + " certificates (expected: exactly one, the root whose key is "
              + ROOT_KEY
              + ")");
    }
    X509Certificate certificate = certificates.get(0);
    PrivateKey key = Pem.privateKey(read(dir.resolve(ROOT_KEY)), ROOT_KEY);
    Optional<TrustDomain> named = RootCa.trustDomainOf(certificate);
    if (named.isPresent() && trustDomain.isPresent() && !named.equals(trustDomain)) {
      throw new IllegalArgumentException(
          "trustDomain: '"
              + trustDomain.get()
              + "' (expected: the root's own trust domain '"
              + named.get()
              + "')");
    }
    if (!KeyChecks.matches(key, certificate.getPublicKey())) {
      throw new IllegalArgumentException(
          ROOT_KEY + ": does not match the public key of " + CaMaterial.ROOT_CERT);
    }
    return new RootCa(named.or(() -> trustDomain).orElse(TrustDomain.DEFAULT), certificate, key);
  }

  /** Writes a cluster CA into {@code dir} in the cacerts layout. */
  public static void writeClusterCa(ClusterCa ca, Path dir, boolean overwrite) {
    requireNonNull(ca, "ca");
    requireNonNull(dir, "dir");
    createDirectory(dir);
    refuseExisting(
        dir,
        overwrite,
        CaMaterial.CA_KEY,
        CaMaterial.CA_CERT,
        CaMaterial.CERT_CHAIN,
        CaMaterial.ROOT_CERT);
    writeFiles(ca, dir);
  }

  /**
   * Reads and validates the cluster CA in {@code dir} (see {@link CaOnboarding#validate}); the
   * trust domain is {@code trustDomain}, else the directory's {@code trust-domain} file, else the
   * one the certificates name.
   *
   * @throws InvalidCaException listing every problem when it is not usable
   */
  public static ClusterCa readClusterCa(Path dir, Optional<TrustDomain> trustDomain, Clock clock) {
    requireNonNull(dir, "dir");
    requireNonNull(trustDomain, "trustDomain");
    Optional<TrustDomain> domain = trustDomain.or(() -> trustDomainFile(dir));
    return CaOnboarding.validate(dir, domain, clock).orElseThrow();
  }

  static Path installClusterCa(ClusterCa ca, Path target) {
    Path parent = target.toAbsolutePath().getParent();
    createDirectory(parent);
    Path staging;
    try {
      staging =
          Files.createTempDirectory(
              parent, "." + target.getFileName() + ".new-", dirAttribute(parent));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory in " + parent, e);
    }
    try {
      writeFiles(ca, staging);
      if (Files.exists(target)) {
        Path old = parent.resolve("." + target.getFileName() + ".old-" + staging.getFileName());
        move(target, old);
        move(staging, target);
        deleteTree(old);
      } else {
        move(staging, target);
      }
    } finally {
      if (Files.exists(staging)) {
        deleteTree(staging);
      }
    }
    return target;
  }

  /** A warning when a key file can be read by anyone but its owner. */
  static Optional<String> permissionWarning(Path keyFile) {
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(keyFile);
      Set<PosixFilePermission> others = java.util.EnumSet.copyOf(permissions);
      others.removeAll(
          Set.of(
              PosixFilePermission.OWNER_READ,
              PosixFilePermission.OWNER_WRITE,
              PosixFilePermission.OWNER_EXECUTE));
      if (!others.isEmpty()) {
        return Optional.of(
            keyFile.getFileName()
                + ": mode "
                + PosixFilePermissions.toString(permissions)
                + " (recommended: rw------- so only its owner can read the key; the installed"
                + " copy is 0600)");
      }
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      // No such file or no POSIX permissions: nothing to warn about here.
    }
    return Optional.empty();
  }

  private static void writeFiles(ClusterCa ca, Path dir) {
    writeFile(dir.resolve(CaMaterial.CA_KEY), Pem.encode(ca.key()), PRIVATE);
    writeFile(dir.resolve(CaMaterial.CA_CERT), Pem.encode(List.of(ca.certificate())), PUBLIC);
    writeFile(dir.resolve(CaMaterial.CERT_CHAIN), Pem.encode(ca.certChain()), PUBLIC);
    writeFile(dir.resolve(CaMaterial.ROOT_CERT), Pem.encode(ca.roots()), PUBLIC);
    writeFile(dir.resolve(TRUST_DOMAIN), ca.trustDomain().name() + "\n", PUBLIC);
  }

  private static Optional<TrustDomain> trustDomainFile(Path dir) {
    try {
      return Optional.of(
          TrustDomain.of(
              Files.readString(dir.resolve(TRUST_DOMAIN), StandardCharsets.UTF_8).trim()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void refuseExisting(Path dir, boolean overwrite, String... names) {
    if (overwrite) {
      return;
    }
    List<String> existing = new ArrayList<>();
    for (String name : names) {
      if (Files.exists(dir.resolve(name))) {
        existing.add(name);
      }
    }
    if (!existing.isEmpty()) {
      throw new IllegalArgumentException(
          "out: "
              + dir
              + " already holds "
              + String.join(", ", existing)
              + " (expected: a directory without them; pass --force to replace them)");
    }
  }

  private static void writeFile(Path file, String content, Set<PosixFilePermission> permissions) {
    Path dir = file.toAbsolutePath().getParent();
    Path temp = null;
    try {
      temp =
          Files.createTempFile(
              dir, "." + file.getFileName() + ".", ".tmp", fileAttribute(dir, permissions));
      Files.writeString(temp, content, StandardCharsets.US_ASCII);
      move(temp, file);
      temp = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException e) {
          // Best effort: the temporary file is hidden and harmless.
        }
      }
    }
  }

  private static void createDirectory(Path dir) {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Path parent = dir.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.createDirectory(dir, dirAttribute(parent));
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException(dir + ": exists and is not a directory", e);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  private static FileAttribute<?>[] fileAttribute(Path dir, Set<PosixFilePermission> permissions) {
    return posix(dir)
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
        : new FileAttribute<?>[0];
  }

  private static FileAttribute<?>[] dirAttribute(Path parent) {
    return fileAttribute(parent, PRIVATE_DIR);
  }

  private static boolean posix(Path dir) {
    Path existing = dir;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    return existing == null
        || existing.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static void move(Path from, Path to) {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      try {
        Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException inner) {
        throw new UncheckedIOException("cannot move " + from + " to " + to, inner);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move " + from + " to " + to, e);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": missing", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
