package dev.fedmesh.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Finds the real {@code etcd} server binary that tests run. */
public final class EtcdBinary {
  /** The message a test fails with when there is no etcd on this machine. */
  public static final String MISSING = "etcd not found: run scripts/install-deps.sh";

  private EtcdBinary() {}

  /**
   * {@code $FEDMESH_ETCD} if set, else {@code etcd} on the {@code PATH}, else Debian's {@code
   * /usr/bin/etcd}.
   *
   * @throws IllegalStateException with {@link #MISSING} when none exists
   */
  public static Path locate() {
    return locate(System.getenv());
  }

  static Path locate(Map<String, String> environment) {
    return find(environment).orElseThrow(() -> new IllegalStateException(MISSING));
  }

  private static Optional<Path> find(Map<String, String> environment) {
    String explicit = environment.get("FEDMESH_ETCD");
    if (explicit != null && !explicit.isBlank()) {
      Path path = Path.of(explicit);
      return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
    }
    String pathVariable = environment.getOrDefault("PATH", "");
    for (String directory : pathVariable.split(File.pathSeparator)) {
      if (directory.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(directory, "etcd");
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    Path debian = Path.of("/usr/bin/etcd");
    return Files.isExecutable(debian) ? Optional.of(debian) : Optional.empty();
  }
}
