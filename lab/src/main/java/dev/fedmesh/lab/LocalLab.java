package dev.fedmesh.lab;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.controller.admin.AdminClient;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The local lab: a real mesh on this machine, as OS processes bound to loopback. Today it runs
 * etcd, one controller replica and the agent of one cluster ({@code east}, fed by a sample
 * endpoints file); its state lives in one directory so that {@link #down} finds and stops
 * everything {@link #up} started.
 */
public final class LocalLab {
  static final String HOST = "127.0.0.1";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final Path dir;
  private final PrintStream out;
  private final Instant began = Instant.now();

  public LocalLab(Path dir, PrintStream out) {
    this.dir = requireNonNull(dir, "dir").toAbsolutePath();
    this.out = requireNonNull(out, "out");
  }

  /** Starts the lab and returns once the controller serves the sample cluster's services. */
  public LabState up() throws IOException {
    Optional<LabState> existing = LabState.read(dir);
    if (existing.isPresent()
        && existing.get().processes().stream().anyMatch(LabProcess::isRunning)) {
      throw new LabException(
          "a lab is already running from " + dir + " (run 'fedmesh lab down' first)");
    }
    Path etcdBinary = etcdBinary();
    Files.createDirectories(dir);
    deleteRecursively(dir.resolve("etcd-data"));

    int etcdPort = freePort();
    int etcdPeerPort = freePort();
    int xdsPort = freePort();
    int adminPort = freePort();
    String etcdUrl = "http://" + HOST + ":" + etcdPort;
    LabState state = new LabState(etcdUrl, HOST + ":" + xdsPort, HOST + ":" + adminPort, List.of());
    state.write(dir);
    try {
      state =
          start(
              state,
              "etcd",
              List.of(
                  etcdBinary.toString(),
                  "--name",
                  "lab",
                  "--data-dir",
                  dir.resolve("etcd-data").toString(),
                  "--listen-client-urls",
                  etcdUrl,
                  "--advertise-client-urls",
                  etcdUrl,
                  "--listen-peer-urls",
                  "http://" + HOST + ":" + etcdPeerPort,
                  "--initial-advertise-peer-urls",
                  "http://" + HOST + ":" + etcdPeerPort,
                  "--initial-cluster",
                  "lab=http://" + HOST + ":" + etcdPeerPort));
      awaitReady("etcd", state, () -> etcdHealthy(etcdUrl));
      progress("etcd ready on " + etcdUrl);

      state =
          start(
              state,
              "controller",
              ProcessLauncher.java(
                  "dev.fedmesh.controller.ControllerMain",
                  List.of(
                      "--etcd",
                      etcdUrl,
                      "--xds-address",
                      state.controllerXds(),
                      "--admin-address",
                      state.controllerAdmin(),
                      "--replica-id",
                      "controller-0")));
      AdminClient admin = new AdminClient(state.controllerAdmin());
      awaitReady("controller", state, admin::ready);
      progress(
          "controller ready: xDS and federation on "
              + state.controllerXds()
              + ", admin on "
              + state.controllerAdmin());

      Path endpoints = dir.resolve("east-endpoints.yaml");
      try (InputStream sample = LocalLab.class.getResourceAsStream("east-endpoints.yaml")) {
        if (sample == null) {
          throw new IllegalStateException("east-endpoints.yaml is missing from the lab jar");
        }
        Files.write(endpoints, sample.readAllBytes());
      }
      state =
          start(
              state,
              "agent-east",
              ProcessLauncher.java(
                  "dev.fedmesh.agent.AgentMain",
                  List.of(
                      "--cluster", "east",
                      "--region", "us-east",
                      "--zone", "us-east-a",
                      "--controller", state.controllerXds(),
                      "--endpoints-file", endpoints.toString())));
      awaitReady("agent-east", state, () -> clusterServing(admin, "east"));
      progress("cluster east connected (endpoints from " + dir.relativize(endpoints) + ")");
    } catch (IOException | RuntimeException e) {
      out.println("lab up failed: " + e.getMessage());
      down(state);
      throw e;
    }
    printServed(state);
    out.printf("%nThe lab runs in the background; its logs are in %s.%n", dir.resolve("logs"));
    out.println("Stop it with: ./fedmesh lab down");
    return state;
  }

  /** Stops every process of the lab in {@link #dir}; returns how many were running. */
  public int down() throws IOException {
    Optional<LabState> state = LabState.read(dir);
    if (state.isEmpty()) {
      out.println("no lab state in " + dir + "; nothing to stop");
      return 0;
    }
    return down(state.get());
  }

  private int down(LabState state) throws IOException {
    int stopped = 0;
    List<LabProcess> reversed = new ArrayList<>(state.processes());
    java.util.Collections.reverse(reversed);
    for (LabProcess process : reversed) {
      Optional<ProcessHandle> handle = process.handle();
      if (handle.isEmpty()) {
        continue;
      }
      stop(handle.get());
      stopped++;
      out.printf("stopped %-12s pid %d%n", process.name(), process.pid());
    }
    Files.deleteIfExists(LabState.file(dir));
    deleteRecursively(dir.resolve("etcd-data"));
    out.println(stopped == 0 ? "lab was not running" : "lab is down");
    return stopped;
  }

  /** The controller admin address of the lab in {@code dir}, if one was started there. */
  public static Optional<String> controllerAdmin(Path dir) {
    try {
      return LabState.read(dir.toAbsolutePath()).map(LabState::controllerAdmin);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Prints each lab process and whether it is running. */
  public void status() throws IOException {
    Optional<LabState> state = LabState.read(dir);
    if (state.isEmpty()) {
      out.println("no lab in " + dir + " (start one with './fedmesh lab up')");
      return;
    }
    out.printf("%-12s %-8s %-8s %s%n", "PROCESS", "PID", "STATE", "LOG");
    for (LabProcess process : state.get().processes()) {
      out.printf(
          "%-12s %-8d %-8s %s%n",
          process.name(),
          process.pid(),
          process.isRunning() ? "running" : "exited",
          dir.relativize(process.log()));
    }
    out.printf(
        "%netcd %s, controller xDS %s, admin %s%n",
        state.get().etcd(), state.get().controllerXds(), state.get().controllerAdmin());
  }

  private LabState start(LabState state, String name, List<String> command) throws IOException {
    Path log = dir.resolve("logs").resolve(name + ".log");
    Files.deleteIfExists(log);
    ProcessHandle handle = ProcessLauncher.start(command, log);
    LabState next = state.with(LabProcess.of(name, handle, log));
    next.write(dir);
    return next;
  }

  private void awaitReady(String name, LabState state, BooleanSupplier ready) {
    LabProcess process =
        state.processes().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (!ready.getAsBoolean()) {
      if (!process.isRunning()) {
        throw new LabException(
            name + " exited during start-up; see " + process.log() + tail(process.log()));
      }
      if (Instant.now().isAfter(deadline)) {
        throw new LabException(
            name + " not ready after " + START_TIMEOUT.toSeconds() + " s; see " + process.log());
      }
      pause();
    }
  }

  private static boolean clusterServing(AdminClient admin, String cluster) {
    try {
      JsonNode status = admin.status();
      for (JsonNode node : status.path("clusters")) {
        if (node.path("name").asText().equals(cluster)
            && node.path("connected").asBoolean()
            && node.path("endpoints").asInt() > 0) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  private void printServed(LabState state) throws IOException {
    AdminClient admin = new AdminClient(state.controllerAdmin());
    JsonNode status = admin.status();
    out.println();
    out.printf(
        "%-10s %-10s %-12s %-22s %s%n", "CLUSTER", "CONNECTED", "NETWORK", "LOCALITY", "ENDPOINTS");
    for (JsonNode cluster : status.path("clusters")) {
      out.printf(
          "%-10s %-10s %-12s %-22s %d%n",
          cluster.path("name").asText(),
          cluster.path("connected").asBoolean() ? "yes" : "no",
          cluster.path("network").asText(),
          cluster.path("locality").asText(),
          cluster.path("endpoints").asInt());
    }
    JsonNode resources =
        admin.resources("role=grpc&cluster=east&network=east&region=us-east&zone=us-east-a");
    out.println();
    out.println("xDS served to a gRPC client in east (us-east/us-east-a):");
    for (JsonNode listener : resources.path("listeners")) {
      out.println("  LDS " + listener.path("name").asText());
    }
    for (JsonNode assignment : resources.path("endpoints")) {
      out.println("  EDS " + assignment.path("clusterName").asText());
      for (JsonNode locality : assignment.path("endpoints")) {
        List<String> addresses = new ArrayList<>();
        for (JsonNode endpoint : locality.path("lbEndpoints")) {
          JsonNode socket = endpoint.path("endpoint").path("address").path("socketAddress");
          addresses.add(socket.path("address").asText() + ":" + socket.path("portValue").asInt());
        }
        JsonNode where = locality.path("locality");
        out.printf(
            "      priority %d  %s/%s  %s%n",
            locality.path("priority").asInt(),
            where.path("region").asText(),
            where.path("zone").asText(),
            String.join(", ", addresses));
      }
    }
  }

  private void progress(String message) {
    double seconds = Duration.between(began, Instant.now()).toMillis() / 1000.0;
    out.printf("[%5.1fs] %s%n", seconds, message);
  }

  private static void stop(ProcessHandle handle) {
    List<ProcessHandle> children = handle.descendants().toList();
    handle.destroy();
    try {
      handle.onExit().get(10, TimeUnit.SECONDS);
    } catch (Exception notYet) {
      handle.destroyForcibly();
    }
    children.forEach(ProcessHandle::destroyForcibly);
  }

  private static boolean etcdHealthy(String url) {
    try {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(url + "/health"))
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

  /** Debian's etcd-server, or any {@code etcd} on the PATH. */
  static Path etcdBinary() {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String directory : path.split(File.pathSeparator)) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, "etcd"))) {
        return Path.of(directory, "etcd");
      }
    }
    if (Files.isExecutable(Path.of("/usr/bin/etcd"))) {
      return Path.of("/usr/bin/etcd");
    }
    throw new LabException("etcd not found: run scripts/install-deps.sh");
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + HOST, e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "\n  "
          + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LabException("interrupted while starting the lab");
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
