package dev.fedmesh.lab;

import static org.awaitility.Awaitility.await;

import dev.fedmesh.testkit.JavaProcess;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link KubernetesApiMain} in a JVM of its own. fabric8's mock API server runs on vert.x 4, while
 * this JVM holds jetcd's vert.x 5 for the controller; the child gets the test's class path with
 * vert.x 4 in place of every vert.x jar.
 */
final class KubernetesApiProcess implements AutoCloseable {
  private final JavaProcess process;
  private final int port;

  private KubernetesApiProcess(JavaProcess process, int port) {
    this.process = process;
    this.port = port;
  }

  static KubernetesApiProcess start(Path dir) {
    Path portFile = dir.resolve("kubernetes-api.port");
    JavaProcess process =
        JavaProcess.start(
            "kubernetes-api",
            dir,
            classPath(),
            KubernetesApiMain.class.getName(),
            List.of(portFile.toString()));
    try {
      await("the Kubernetes API serves")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> Files.exists(portFile) || !process.isAlive());
      if (!process.isAlive()) {
        throw new IllegalStateException("the Kubernetes API exited:\n" + process.logTail());
      }
      return new KubernetesApiProcess(process, Integer.parseInt(Files.readString(portFile)));
    } catch (IOException | RuntimeException e) {
      process.close();
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  private static String classPath() {
    String vertx4 = System.getProperty("fedmesh.kubernetesApi.vertx");
    if (vertx4 == null || !Files.isReadable(Path.of(vertx4))) {
      throw new IllegalStateException(
          "fedmesh.kubernetesApi.vertx: '"
              + vertx4
              + "' (expected: vert.x 4's jar, copied by the lab's build; run through Maven)");
    }
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.contains(File.separator + "io" + File.separator + "vertx" + File.separator)) {
        entries.add(entry);
      }
    }
    entries.add(vertx4);
    return String.join(File.pathSeparator, entries);
  }

  /** A client of this API server; the caller closes it. */
  KubernetesClient client() {
    return new KubernetesClientBuilder()
        .withConfig(
            new ConfigBuilder(Config.empty())
                .withMasterUrl("http://127.0.0.1:" + port)
                .withNamespace("default")
                .withWatchReconnectInterval(100)
                .build())
        .build();
  }

  String logTail() {
    return process.logTail();
  }

  @Override
  public void close() {
    process.close();
  }
}
