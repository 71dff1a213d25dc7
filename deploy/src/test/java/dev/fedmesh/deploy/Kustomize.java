package dev.fedmesh.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code kubectl kustomize}, the real binary, as a user or the lab script runs it. {@code
 * FEDMESH_KUBECTL} names another kubectl (to check the manifests with Debian's 1.20 and its
 * kustomize v2.0.3, say); otherwise the one on the {@code PATH}. Renders are cached per JVM.
 */
final class Kustomize {
  /** The lab script's sample node addresses, one per cluster, on kind's Docker network. */
  static final Map<String, String> NODE_ADDRESSES =
      Map.of("east", "172.18.0.2", "west", "172.18.0.3", "central", "172.18.0.4");

  static final String GATEWAY_PLACEHOLDER = "__GATEWAY_NODE_IP__";
  static final String CONTROLLER_PLACEHOLDER = "__CONTROLLER_NODE_IP__";

  private static final Map<String, String> RENDERED = new ConcurrentHashMap<>();

  private Kustomize() {}

  /** The kubectl to run; fails (never skips) when there is none. */
  static Path kubectl() {
    String configured = System.getenv("FEDMESH_KUBECTL");
    if (configured != null && !configured.isBlank()) {
      Path path = Path.of(configured);
      if (!Files.isExecutable(path)) {
        fail("FEDMESH_KUBECTL=" + configured + ": not an executable file");
      }
      return path;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "kubectl");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return fail(
        "kubectl is not installed: the deploy tests render every overlay with `kubectl"
            + " kustomize`. scripts/install-deps.sh installs it (Debian's kubernetes-client) when"
            + " it is missing.");
  }

  /** The output of {@code kubectl kustomize deploy/<dir>}, as the tool printed it. */
  static String render(String dir) {
    return RENDERED.computeIfAbsent(dir, Kustomize::run);
  }

  /**
   * The output of {@code kubectl kustomize deploy/overlays/<cluster>} with the node addresses
   * filled in as {@code kind-configs/lab.sh} does (sed over the rendered text): this cluster's own
   * for the gateway, east's for the controller.
   */
  static String renderForLab(String cluster) {
    return render("overlays/" + cluster)
        .replace(GATEWAY_PLACEHOLDER, NODE_ADDRESSES.get(cluster))
        .replace(CONTROLLER_PLACEHOLDER, NODE_ADDRESSES.get("east"));
  }

  private static String run(String dir) {
    Path kubectl = kubectl();
    Path target = RepoFiles.deploy().resolve(dir);
    ProcessBuilder builder =
        new ProcessBuilder(kubectl.toString(), "kustomize", target.toString())
            .directory(RepoFiles.root().toFile());
    // kubectl kustomize needs no cluster; an empty config keeps a user's kubeconfig out of it.
    builder.environment().put("KUBECONFIG", "/dev/null");
    try {
      Process process = builder.start();
      CompletableFuture<String> stderr =
          CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
      String stdout = readAll(process.getInputStream());
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        fail(kubectl + " kustomize " + target + ": no answer within 2 minutes");
      }
      if (process.exitValue() != 0) {
        fail(
            kubectl
                + " kustomize "
                + target
                + ": exit "
                + process.exitValue()
                + "\n"
                + stderr.join());
      }
      return stdout;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + kubectl, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String readAll(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
