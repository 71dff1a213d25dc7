package dev.fedmesh.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the repository and its manifests are, for tests that read them from the source tree. */
final class RepoFiles {
  private RepoFiles() {}

  /** The repository's root (surefire passes {@code fedmesh.repo}; else the module's parent). */
  static Path root() {
    String configured = System.getProperty("fedmesh.repo");
    Path root = configured != null ? Path.of(configured) : Path.of("..");
    return root.toAbsolutePath().normalize();
  }

  static Path deploy() {
    return root().resolve("deploy");
  }

  /**
   * Every manifest under {@code deploy/base}, {@code deploy/control-plane} and {@code
   * deploy/overlays} (the kustomizations themselves excepted), sorted.
   */
  static List<Path> manifests() {
    return yamlFiles().stream().filter(path -> !isKustomization(path)).toList();
  }

  /** Every {@code kustomization.yaml} under {@code deploy/}, sorted. */
  static List<Path> kustomizations() {
    return yamlFiles().stream().filter(RepoFiles::isKustomization).toList();
  }

  private static boolean isKustomization(Path path) {
    return path.getFileName().toString().equals("kustomization.yaml");
  }

  private static List<Path> yamlFiles() {
    try (Stream<Path> files =
        Stream.of("base", "control-plane", "overlays")
            .map(deploy()::resolve)
            .flatMap(RepoFiles::walk)) {
      return files
          .filter(Files::isRegularFile)
          .filter(
              path ->
                  path.getFileName().toString().endsWith(".yaml")
                      || path.getFileName().toString().endsWith(".yml"))
          .sorted()
          .toList();
    }
  }

  private static Stream<Path> walk(Path dir) {
    try {
      return Files.walk(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
