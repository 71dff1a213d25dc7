package dev.fedmesh.proxyless;

import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.X509Svid;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A certificate, its key and the roots, read from files and read again whenever one of them changes
 * (a rotation writes new files). A set that cannot be read keeps the last good one.
 */
final class WatchedSvidFiles {
  private static final Logger log = LoggerFactory.getLogger(WatchedSvidFiles.class);

  private final Path certificate;
  private final Path key;
  private final Path roots;
  private List<FileTime> seen = List.of();
  private Optional<SvidCredential> credential = Optional.empty();
  private TrustBundleSet bundles = TrustBundleSet.of();

  WatchedSvidFiles(Path certificate, Path key, Path roots) {
    this.certificate = certificate;
    this.key = key;
    this.roots = roots;
    refresh();
  }

  synchronized Optional<SvidCredential> credential() {
    refresh();
    return credential;
  }

  synchronized TrustBundleSet roots() {
    refresh();
    return bundles;
  }

  private synchronized void refresh() {
    List<FileTime> now;
    try {
      now =
          List.of(
              Files.getLastModifiedTime(certificate),
              Files.getLastModifiedTime(key),
              Files.getLastModifiedTime(roots));
    } catch (IOException e) {
      log.warn("cannot read the xDS credentials: {}", e.toString());
      return;
    }
    if (now.equals(seen)) {
      return;
    }
    try {
      X509Svid svid = X509Svid.of(Pem.certificates(Files.readString(certificate), "certificate"));
      credential =
          Optional.of(
              SvidCredential.of(svid, Pem.privateKey(Files.readString(key), key.toString())));
      bundles = TrustBundleSet.ofRootsPem(Files.readString(roots), roots.toString());
      seen = now;
    } catch (IOException | RuntimeException e) {
      log.warn("cannot read the xDS credentials, keeping the last ones: {}", e.toString());
    }
  }
}
