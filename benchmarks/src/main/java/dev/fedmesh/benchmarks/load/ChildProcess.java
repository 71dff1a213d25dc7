package dev.fedmesh.benchmarks.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process the benchmark starts and must stop: its output goes to a log file, and {@link #close()}
 * ends exactly this process (by its handle: SIGTERM, then SIGKILL after 5 s). Our own child JVMs
 * also exit when their standard input closes, so they never outlive a benchmark killed with
 * SIGKILL.
 */
final class ChildProcess implements AutoCloseable {
  /** The line a child JVM of ours prints once it listens: {@code listening <host>:<port>}. */
  static final String LISTENING = "listening ";

  private final String name;
  private final Process process;
  private final Path log;
  private final CompletableFuture<InetSocketAddress> listening = new CompletableFuture<>();
  private final long startedNanos;
  private volatile long listeningNanos;

  private ChildProcess(String name, Process process, Path log, long startedNanos) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.startedNanos = startedNanos;
    Thread copier = new Thread(this::copyOutput, name + "-output");
    copier.setDaemon(true);
    copier.start();
  }

  static ChildProcess start(String name, List<String> command, Path logDir) throws IOException {
    return start(name, command, Map.of(), logDir);
  }

  /**
   * @param environment added to (or replacing in) the benchmark's own environment
   */
  static ChildProcess start(
      String name, List<String> command, Map<String, String> environment, Path logDir)
      throws IOException {
    Path log = logDir.resolve(name + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.PIPE);
    builder.environment().putAll(environment);
    long started = System.nanoTime();
    return new ChildProcess(name, builder.start(), log, started);
  }

  /**
   * From starting the process to its {@code listening} line: how long it took to be ready; empty
   * for a program that prints no such line.
   */
  Optional<Duration> startup() {
    if (!listening.isDone() || listening.isCompletedExceptionally()) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos(listeningNanos - startedNanos));
  }

  long pid() {
    return process.pid();
  }

  String name() {
    return name;
  }

  /** Waits for the child's {@code listening} line and returns the address it names. */
  InetSocketAddress awaitListening(Duration timeout) throws InterruptedException {
    try {
      return listening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          name + " did not start listening within " + timeout + "; see " + log, e);
    }
  }

  /** Waits until {@code address} accepts TCP connections (for programs that print nothing). */
  void awaitPort(InetSocketAddress address, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            name + " exited with " + process.exitValue() + " before listening; see " + log);
      }
      try (Socket socket = new Socket()) {
        socket.connect(address, 200);
        return;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException(name + " is not listening on " + address + "; see " + log);
  }

  private void copyOutput() {
    try (BufferedReader in =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        out.println(line);
        out.flush();
        if (line.startsWith(LISTENING) && !listening.isDone()) {
          listeningNanos = System.nanoTime();
          String hostPort = line.substring(LISTENING.length()).trim();
          int colon = hostPort.lastIndexOf(':');
          listening.complete(
              new InetSocketAddress(
                  hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      listening.completeExceptionally(new IllegalStateException(name + " closed its output"));
    }
  }

  /**
   * Closes the child's standard input, which our JVMs take as the signal to stop, and waits for it
   * to exit by itself: for work it does on the way out (writing a class-data archive).
   */
  void stopAndWait(Duration timeout) throws InterruptedException {
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // the child may already be gone
    }
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      close();
      throw new IllegalStateException(name + " did not exit within " + timeout + "; see " + log);
    }
  }

  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // the child may already be gone
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
