package dev.fedmesh.lab;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a lab cluster's process. Its class path is the {@code lab-cluster} module's own jar and
 * libraries (the mock Kubernetes API needs vert.x 4; this process holds the controller's vert.x 5),
 * found beside this checkout's build or named by {@code -Dfedmesh.labCluster.classpath}.
 */
final class ClusterHostLauncher {
  static final String PROPERTY = "fedmesh.labCluster.classpath";
  private static final String MAIN = "dev.fedmesh.lab.cluster.ClusterHostMain";

  /**
   * For every lab process: fabric8's client and mock API server run on vert.x, which otherwise
   * makes a directory in /tmp for each process (a cache for files served from the class path, which
   * nothing here needs) and leaves it there when the process is killed, as the lab's kill command
   * and the chaos tests do.
   */
  static final String NO_VERTX_CACHE = "-Dvertx.disableFileCPResolving=true";

  private ClusterHostLauncher() {}

  static String classpath() {
    String given = System.getProperty(PROPERTY);
    if (given != null && !given.isBlank()) {
      return given;
    }
    for (Path start : starts()) {
      for (Path dir = start; dir != null; dir = dir.getParent()) {
        Path target = dir.resolve("lab-cluster").resolve("target");
        if (Files.isRegularFile(target.resolve("lab-cluster.jar"))
            && Files.isDirectory(target.resolve("lib"))) {
          return target.resolve("lab-cluster.jar")
              + File.pathSeparator
              + target.resolve("lib").resolve("*");
        }
      }
    }
    throw new LabException(
        "the lab's cluster jar is missing: build it with 'mvn -q package -pl lab-cluster -am"
            + " -DskipTests' (./fedmesh does this on first use)");
  }

  private static List<Path> starts() {
    List<Path> starts = new ArrayList<>();
    try {
      starts.add(
          Path.of(
                  ClusterHostLauncher.class
                      .getProtectionDomain()
                      .getCodeSource()
                      .getLocation()
                      .toURI())
              .toAbsolutePath());
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      // no code source: fall back to the working directory
    }
    starts.add(Path.of("").toAbsolutePath());
    return starts;
  }

  static List<String> command(String classpath, Path specFile) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // One cluster: API, agent, CA, gateway and a handful of pods with sidecars.
    command.add("-Xms64m");
    command.add("-Xmx384m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-Dfedmesh.log.level=INFO");
    command.add(NO_VERTX_CACHE);
    command.add("-cp");
    command.add(classpath);
    command.add(MAIN);
    command.add("--spec");
    command.add(specFile.toString());
    return command;
  }
}
