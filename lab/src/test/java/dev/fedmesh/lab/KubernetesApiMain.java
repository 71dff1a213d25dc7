package dev.fedmesh.lab;

import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CountDownLatch;

/**
 * A Kubernetes API server for tests: fabric8's mock in CRUD mode, on 127.0.0.1 and a free port,
 * which it writes to the file named by its argument once it serves. Run by {@link
 * KubernetesApiProcess} in a JVM of its own.
 */
public final class KubernetesApiMain {
  private KubernetesApiMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      throw new IllegalArgumentException("arguments: " + args.length + " (expected: a port file)");
    }
    Path portFile = Path.of(args[0]);
    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            expectations,
            new KubernetesMixedDispatcher(expectations),
            false);
    server.init(InetAddress.getByName("127.0.0.1"), 0);
    Runtime.getRuntime().addShutdownHook(new Thread(server::destroy, "kubernetes-api-stop"));
    Path written = portFile.resolveSibling(portFile.getFileName() + ".tmp");
    Files.writeString(written, String.valueOf(server.getPort()));
    Files.move(written, portFile, StandardCopyOption.ATOMIC_MOVE);
    System.out.println(
        "Kubernetes API (fabric8 mock, CRUD) on http://127.0.0.1:" + server.getPort());
    new CountDownLatch(1).await();
  }
}
