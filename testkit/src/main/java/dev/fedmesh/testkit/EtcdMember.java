package dev.fedmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** One real etcd server process on loopback, with its own data directory and ports. */
public final class EtcdMember {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private final String name;
  private final int clientPort;
  private final int peerPort;
  private final Path dataDir;
  private final Path logFile;
  private String initialCluster = "";
  private Process process;

  EtcdMember(String name, Path baseDir) {
    this.name = name;
    this.clientPort = FreePorts.next();
    this.peerPort = FreePorts.next();
    this.dataDir = baseDir.resolve(name + ".etcd");
    this.logFile = baseDir.resolve(name + ".log");
  }

  public String name() {
    return name;
  }

  /** The client URL, {@code http://127.0.0.1:<port>}. */
  public String clientUrl() {
    return "http://127.0.0.1:" + clientPort;
  }

  String peerUrl() {
    return "http://127.0.0.1:" + peerPort;
  }

  void initialCluster(String initialCluster) {
    this.initialCluster = initialCluster;
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  public synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException(name + " was never started");
    }
    return process.pid();
  }

  /** Starts the process (again, on the same ports and data) without waiting for health. */
  synchronized void launch() {
    if (isRunning()) {
      return;
    }
    List<String> command = new ArrayList<>();
    command.add(EtcdBinary.locate().toString());
    command.addAll(
        List.of(
            "--name",
            name,
            "--data-dir",
            dataDir.toString(),
            "--listen-client-urls",
            clientUrl(),
            "--advertise-client-urls",
            clientUrl(),
            "--listen-peer-urls",
            peerUrl(),
            "--initial-advertise-peer-urls",
            peerUrl(),
            "--initial-cluster",
            initialCluster,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "fedmesh-test",
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            // One policy apply is one transaction; fedmesh's etcd allows large ones.
            "--max-txn-ops",
            "4096"));
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start etcd " + name, e);
    }
  }

  /** Starts the member and waits until it reports healthy (has a leader). */
  public void start() {
    launch();
    awaitHealthy();
  }

  /** Waits until {@code /health} says true, or fails with the tail of the member's log. */
  void awaitHealthy() {
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (!isRunning()) {
        throw new IllegalStateException(
            "etcd " + name + " exited during start-up; log:\n" + logTail());
      }
      if (healthy()) {
        return;
      }
      pause(Duration.ofMillis(50));
    }
    throw new IllegalStateException(
        "etcd " + name + " not healthy after " + START_TIMEOUT + "; log:\n" + logTail());
  }

  /** Whether the member answers {@code /health} with {@code "health":"true"}. */
  public boolean healthy() {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(clientUrl() + "/health"))
                  .timeout(Duration.ofSeconds(1))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 && response.body().contains("\"true\"");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Graceful stop (SIGTERM). */
  public synchronized void stop() {
    if (process != null) {
      ProcessControl.stop(process.toHandle(), Duration.ofSeconds(10));
    }
  }

  /** {@code kill -9}. */
  public synchronized void kill() {
    if (process != null) {
      ProcessControl.kill(process.toHandle());
    }
  }

  /** Starts a stopped or killed member again on the same ports and data directory. */
  public void restart() {
    start();
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for etcd", e);
    }
  }
}
