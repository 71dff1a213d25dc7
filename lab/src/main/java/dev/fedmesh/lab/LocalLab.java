package dev.fedmesh.lab;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.lab.cluster.ClusterSpec;
import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.TrustDomain;
import java.io.File;
import java.io.IOException;
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
import java.time.Clock;
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
 * The local lab: a real three-cluster mesh on this machine, as OS processes bound to loopback:
 * etcd, the controller, and one process per member cluster ({@code east}, {@code west}, {@code
 * central}) hosting its Kubernetes API, agent, CA, east-west gateway and the demo app's pods with
 * their sidecars. Its state lives in one directory so that later commands find every process.
 */
public final class LocalLab {
  static final String HOST = "127.0.0.1";
  static final String TRUST_DOMAIN = "fedmesh.local";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  /**
   * How the lab is shaped.
   *
   * @param etcdMembers 1 or 3 etcd members
   * @param controllers controller replicas (agents and proxies know them all)
   * @param certificateTtl workload certificate lifetime
   * @param livenessGrace how long a cluster whose agent is gone keeps its priorities
   */
  public record Options(
      int etcdMembers, int controllers, Duration certificateTtl, Duration livenessGrace) {
    public static final Options DEFAULT =
        new Options(1, 1, Duration.ofHours(1), Duration.ofSeconds(60));

    public Options {
      if (etcdMembers != 1 && etcdMembers != 3) {
        throw new IllegalArgumentException("etcdMembers: " + etcdMembers + " (expected: 1 or 3)");
      }
      if (controllers < 1 || controllers > 3) {
        throw new IllegalArgumentException("controllers: " + controllers + " (expected: 1 to 3)");
      }
      if (certificateTtl.compareTo(Duration.ofSeconds(2)) < 0) {
        throw new IllegalArgumentException(
            "certificateTtl: " + certificateTtl + " (expected: at least 2 seconds)");
      }
    }
  }

  private final Path dir;
  private final PrintStream out;
  private final Options options;
  private final Instant began = Instant.now();
  private LabSecrets secrets;

  public LocalLab(Path dir, PrintStream out) {
    this(dir, out, Options.DEFAULT);
  }

  public LocalLab(Path dir, PrintStream out, Options options) {
    this.dir = requireNonNull(dir, "dir").toAbsolutePath();
    this.out = requireNonNull(out, "out");
    this.options = requireNonNull(options, "options");
  }

  public Path dir() {
    return dir;
  }

  /** Starts the lab and returns once every cluster's proxies have their config and certificate. */
  public LabState up() throws IOException {
    Optional<LabState> existing = LabState.read(dir);
    if (existing.isPresent()
        && existing.get().processes().stream().anyMatch(LabProcess::isRunning)) {
      throw new LabException(
          "a lab is already running from " + dir + " (run 'fedmesh lab down' first)");
    }
    Path etcdBinary = etcdBinary();
    String clusterClasspath = ClusterHostLauncher.classpath();
    Files.createDirectories(dir);
    deleteRecursively(dir.resolve("etcd-data"));
    deleteRecursively(dir.resolve("clusters"));

    List<Integer> clientPorts = new ArrayList<>();
    List<Integer> peerPorts = new ArrayList<>();
    for (int i = 0; i < options.etcdMembers(); i++) {
      clientPorts.add(freePort());
      peerPorts.add(freePort());
    }
    List<String> etcdUrls = clientPorts.stream().map(p -> "http://" + HOST + ":" + p).toList();
    List<String> xds = new ArrayList<>();
    List<String> admins = new ArrayList<>();
    for (int i = 0; i < options.controllers(); i++) {
      xds.add(HOST + ":" + freePort());
      admins.add(HOST + ":" + freePort());
    }
    LabState state = new LabState(String.join(",", etcdUrls), xds.get(0), admins.get(0), List.of());
    state.write(dir);
    try {
      StringBuilder initialCluster = new StringBuilder();
      for (int i = 0; i < options.etcdMembers(); i++) {
        initialCluster
            .append(i == 0 ? "" : ",")
            .append("etcd-")
            .append(i)
            .append("=http://")
            .append(HOST)
            .append(':')
            .append(peerPorts.get(i));
      }
      for (int i = 0; i < options.etcdMembers(); i++) {
        String name = options.etcdMembers() == 1 ? "etcd" : "etcd-" + i;
        state =
            start(
                state,
                name,
                etcdCommand(
                    etcdBinary, i, etcdUrls.get(i), peerPorts.get(i), initialCluster.toString()));
      }
      for (String url : etcdUrls) {
        awaitReady(
            options.etcdMembers() == 1 ? "etcd" : "etcd-" + etcdUrls.indexOf(url),
            state,
            () -> etcdHealthy(url));
      }
      progress("etcd ready on " + String.join(",", etcdUrls));

      Path caDir = dir.resolve("ca");
      RootCa root;
      if (!Files.exists(caDir.resolve("root-cert.pem"))) {
        root = RootCa.generate(RootCaSpec.of(TrustDomain.of(TRUST_DOMAIN)), Clock.systemUTC());
        CaFiles.writeRoot(root, caDir, true);
        progress("root CA created for " + TRUST_DOMAIN + " in " + dir.relativize(caDir));
      } else {
        root = CaFiles.readRoot(caDir, Optional.of(TrustDomain.of(TRUST_DOMAIN)));
      }
      secrets = LabSecrets.create(dir, root, LabTopology.members());

      for (int i = 0; i < options.controllers(); i++) {
        state =
            start(
                state,
                controllerName(i),
                controllerCommand(
                    state.etcd(), xds.get(i), admins.get(i), i, options.livenessGrace()));
      }
      for (int i = 0; i < options.controllers(); i++) {
        AdminClient admin = adminClient(admins.get(i));
        awaitReady(controllerName(i), state, admin::ready);
      }
      progress(
          "controller ready: xDS and federation on "
              + String.join(", ", xds)
              + ", admin on "
              + String.join(", ", admins));

      for (LabTopology.Member member : LabTopology.members()) {
        ClusterSpec spec = spec(member, xds, caDir);
        state = startCluster(state, spec, clusterClasspath);
      }
      for (LabTopology.Member member : LabTopology.members()) {
        awaitCluster(state, member.name());
        progress(
            "cluster "
                + member.name()
                + " ("
                + member.region()
                + ", "
                + member.prefix()
                + ".x.x) ready");
      }
      awaitConverged(START_TIMEOUT);
      progress("mesh converged: every sidecar reaches every announced service");
    } catch (IOException | RuntimeException e) {
      out.println("lab up failed: " + e.getMessage());
      down(state);
      throw e;
    }
    out.println();
    LabStatus status = new LabStatus(dir, out);
    status.print(state, false);
    Path scrapeConfig = status.writePrometheusConfig(state);
    out.printf(
        "%nMetrics: every sidecar serves Istio's standard metrics at"
            + " http://<pod address>:15090/stats/prometheus (and on its admin port);%n"
            + "  scrape them all: prometheus --config.file=%s%n"
            + "  dashboard: import deploy/grafana/fedmesh-mesh.json into Grafana%n",
        scrapeConfig);
    out.printf("%nThe lab runs in the background; logs are in %s.%n", dir.resolve("logs"));
    out.println(
        "Watch it:      ./fedmesh dashboard   (topology, live traffic, kill/revive buttons)");
    out.println("Send traffic:  ./fedmesh lab traffic --from east --to checkout");
    out.println("Kill a region: ./fedmesh lab kill-cluster west");
    out.println("Stop it:       ./fedmesh lab down");
    return state;
  }

  private static String controllerName(int index) {
    return "controller-" + index;
  }

  private List<String> etcdCommand(
      Path binary, int index, String url, int peerPort, String initialCluster) {
    String peer = "http://" + HOST + ":" + peerPort;
    return List.of(
        binary.toString(),
        "--name",
        "etcd-" + index,
        "--data-dir",
        dir.resolve("etcd-data").resolve("member-" + index).toString(),
        "--listen-client-urls",
        url,
        "--advertise-client-urls",
        url,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        initialCluster,
        "--initial-cluster-state",
        "new",
        // One policy apply is one transaction; fedmesh's etcd allows large ones.
        "--max-txn-ops",
        "4096");
  }

  private List<String> controllerCommand(
      String etcd, String xds, String admin, int index, Duration livenessGrace) {
    return ProcessLauncher.java(
        "dev.fedmesh.controller.ControllerMain",
        List.of(
            "--etcd",
            etcd,
            "--xds-address",
            xds,
            "--tls-dir",
            secrets.controllerTls().toString(),
            "--agent-tokens",
            dir.resolve(LabSecrets.AGENT_TOKENS).toString(),
            "--admin-token-file",
            dir.resolve(LabSecrets.ADMIN_TOKEN).toString(),
            "--admin-address",
            admin,
            "--replica-id",
            "controller-" + index,
            "--region-failover",
            LabTopology.FAILOVER,
            "--liveness-grace",
            livenessGrace.toMillis() + "ms"));
  }

  private ClusterSpec spec(LabTopology.Member member, List<String> controllers, Path caDir)
      throws IOException {
    return new ClusterSpec(
        member.name(),
        member.region(),
        member.prefix(),
        TRUST_DOMAIN,
        controllers,
        caDir.toString(),
        clusterDir(member.name()).toString(),
        options.certificateTtl().toSeconds(),
        member.workloads(),
        secrets.agentToken(member.name()),
        LabSecrets.controlToken(dir));
  }

  Path clusterDir(String name) {
    return dir.resolve("clusters").resolve(name);
  }

  private LabState startCluster(LabState state, ClusterSpec spec, String classpath)
      throws IOException {
    Path specFile = clusterDir(spec.name()).resolve("spec.json");
    Files.createDirectories(specFile.getParent());
    Files.deleteIfExists(clusterDir(spec.name()).resolve("status.json"));
    // The spec holds the agent's token: readable by the user only.
    LabSecrets.writePrivate(specFile, LabStatus.JSON.writeValueAsString(spec));
    return start(
        state, clusterProcess(spec.name()), ClusterHostLauncher.command(classpath, specFile));
  }

  static String clusterProcess(String name) {
    return "cluster-" + name;
  }

  private void awaitCluster(LabState state, String name) {
    Path status = clusterDir(name).resolve("status.json");
    awaitReady(
        clusterProcess(name),
        state,
        () -> {
          try {
            return Files.exists(status)
                && LabStatus.JSON.readTree(status.toFile()).path("ready").asBoolean();
          } catch (IOException e) {
            return false;
          }
        });
  }

  /**
   * The lab's member clusters in topology order, each with whether its process runs now.
   *
   * @throws LabException when there is no lab in {@link #dir}
   */
  public java.util.LinkedHashMap<String, Boolean> clusters() throws IOException {
    LabState state =
        LabState.read(dir)
            .orElseThrow(
                () ->
                    new LabException("no lab in " + dir + " (start one with './fedmesh lab up')"));
    java.util.LinkedHashMap<String, Boolean> clusters = new java.util.LinkedHashMap<>();
    for (LabTopology.Member member : LabTopology.members()) {
      clusters.put(
          member.name(),
          state.processes().stream()
              .anyMatch(p -> p.name().equals(clusterProcess(member.name())) && p.isRunning()));
    }
    return clusters;
  }

  /** {@code kill -9} of a cluster's process: its API, agent, CA, gateway and pods all at once. */
  public void killCluster(String name) throws IOException {
    LabState state =
        LabState.read(dir)
            .orElseThrow(
                () ->
                    new LabException("no lab in " + dir + " (start one with './fedmesh lab up')"));
    LabProcess process = clusterProcessOf(state, name);
    ProcessHandle handle =
        process
            .handle()
            .orElseThrow(
                () ->
                    new LabException(
                        "cluster "
                            + name
                            + " is not running (revive it with './fedmesh lab revive-cluster "
                            + name
                            + "')"));
    handle.destroyForcibly();
    try {
      handle.onExit().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new LabException(
          "cluster " + name + " (pid " + process.pid() + ") did not die: " + e.getMessage());
    }
    out.printf("killed cluster %s (kill -9 of pid %d)%n", name, process.pid());
  }

  /** Starts a killed cluster again with the same spec (same addresses, fresh process). */
  public void reviveCluster(String name) throws IOException {
    LabState state =
        LabState.read(dir)
            .orElseThrow(
                () ->
                    new LabException("no lab in " + dir + " (start one with './fedmesh lab up')"));
    LabProcess process = clusterProcessOf(state, name);
    if (process.isRunning()) {
      throw new LabException("cluster " + name + " is running (pid " + process.pid() + ")");
    }
    Path specFile = clusterDir(name).resolve("spec.json");
    Files.deleteIfExists(clusterDir(name).resolve("status.json"));
    LabState next = state.without(process.name());
    next =
        start(
            next,
            process.name(),
            ClusterHostLauncher.command(ClusterHostLauncher.classpath(), specFile));
    awaitCluster(next, name);
    awaitConverged(START_TIMEOUT);
    progress("cluster " + name + " revived");
  }

  /**
   * Waits until the mesh has converged: every sidecar of every running cluster has accepted a
   * config that reaches every service announced with a healthy endpoint (see {@link
   * MeshConvergence}). Throws, naming what is still missing, when it has not within {@code within}.
   */
  public void awaitConverged(Duration within) throws IOException {
    Instant deadline = Instant.now().plus(within);
    while (true) {
      Optional<String> missing = unconverged();
      if (missing.isEmpty()) {
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new LabException(
            "the mesh has not converged after " + within.toSeconds() + " s: " + missing.get());
      }
      pause();
    }
  }

  /** What keeps the mesh from having converged now, or empty when it has. */
  public Optional<String> unconverged() throws IOException {
    LabState state = LabState.read(dir).orElseThrow(() -> new LabException("no lab in " + dir));
    List<String> admins = new ArrayList<>();
    List<MeshConvergence.ClusterStatus> clusters = new ArrayList<>();
    for (LabProcess process : state.processes()) {
      if (!process.isRunning()) {
        continue;
      }
      if (process.name().startsWith("controller-")) {
        admins.add(adminAddressOf(process.name()));
      } else if (process.name().startsWith("cluster-")) {
        String cluster = process.name().substring("cluster-".length());
        clusters.add(
            new MeshConvergence.ClusterStatus(cluster, clusterDir(cluster).resolve("status.json")));
      }
    }
    return MeshConvergence.missing(admins.stream().map(this::adminClient).toList(), clusters);
  }

  private LabProcess clusterProcessOf(LabState state, String name) {
    return state.processes().stream()
        .filter(p -> p.name().equals(clusterProcess(name)))
        .findFirst()
        .orElseThrow(
            () ->
                new LabException(
                    "cluster: '"
                        + name
                        + "' (expected one of: "
                        + String.join(
                            ", ",
                            LabTopology.members().stream().map(LabTopology.Member::name).toList())
                        + ")"));
  }

  /**
   * Kills (-9) or stops another lab process by name (controller-0, etcd-1, ...), for chaos tests.
   */
  public LabProcess process(String name) throws IOException {
    LabState state = LabState.read(dir).orElseThrow(() -> new LabException("no lab in " + dir));
    return state.processes().stream()
        .filter(p -> p.name().equals(name))
        .findFirst()
        .orElseThrow(
            () ->
                new LabException(
                    "process: '"
                        + name
                        + "' (expected one of the lab's: "
                        + state.processes().stream().map(LabProcess::name).toList()
                        + ")"));
  }

  /** The admin address (host:port) of controller replica {@code replica}, as it was started. */
  public String replicaAdmin(int replica) throws IOException {
    return adminAddressOf(controllerName(replica));
  }

  /** A client of a controller's admin API that presents the lab's admin token. */
  public AdminClient adminClient(String address) {
    Optional<Path> roots = adminRoots(dir);
    try {
      return new AdminClient(
          address,
          LabSecrets.adminToken(dir).orElse(""),
          roots.isPresent() ? Optional.of(AdminClient.roots(roots.get())) : Optional.empty());
    } catch (IOException e) {
      throw new LabException("cannot read the lab's roots " + roots.get() + ": " + e.getMessage());
    }
  }

  /**
   * The roots the lab's controllers' certificates chain to (their admin API runs TLS, like the rest
   * of the control plane), when the lab in {@code dir} made them.
   */
  public static Optional<Path> adminRoots(Path dir) {
    Path roots =
        dir.toAbsolutePath()
            .resolve(LabSecrets.CONTROLLER_TLS)
            .resolve(dev.fedmesh.trust.SvidFiles.ROOTS);
    return java.nio.file.Files.isRegularFile(roots) ? Optional.of(roots) : Optional.empty();
  }

  /** The admin token of the lab in {@code dir}, which {@code lab up} wrote (mode 0600). */
  public static Optional<String> adminToken(Path dir) {
    return LabSecrets.adminToken(dir.toAbsolutePath());
  }

  /** The token the clusters' fault-injection endpoints require ({@code Authorization: Bearer}). */
  public String controlToken() throws IOException {
    return LabSecrets.controlToken(dir);
  }

  private String adminAddressOf(String controllerProcess) throws IOException {
    List<String> command = Files.readAllLines(commandFile(controllerProcess));
    return command.get(command.indexOf("--admin-address") + 1);
  }

  /**
   * Starts a lab process that was killed again, with the command it was started with; for a
   * controller replica, returns once it serves proxies again.
   */
  public void restart(String name) throws IOException {
    LabState state = LabState.read(dir).orElseThrow(() -> new LabException("no lab in " + dir));
    LabProcess process = process(name);
    if (process.isRunning()) {
      throw new LabException(name + " is running (pid " + process.pid() + ")");
    }
    if (name.startsWith("cluster-")) {
      reviveCluster(name.substring("cluster-".length()));
      return;
    }
    List<String> command = Files.readAllLines(commandFile(name));
    LabState next = start(state.without(name), name, command);
    if (name.startsWith("controller-")) {
      // Ready means the replica has published what etcd holds, so it serves proxies again.
      awaitReady(name, next, adminClient(adminAddressOf(name))::ready);
    }
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
    deleteRecursively(dir.resolve("clusters"));
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

  /** Prints every process, address and proxy of the lab ({@code json}: as one JSON object). */
  public void status(boolean json) throws IOException {
    Optional<LabState> state = LabState.read(dir);
    if (state.isEmpty()) {
      out.println("no lab in " + dir + " (start one with './fedmesh lab up')");
      return;
    }
    new LabStatus(dir, out).print(state.get(), json);
  }

  public void status() throws IOException {
    status(false);
  }

  private Path commandFile(String name) {
    return dir.resolve("logs").resolve(name + ".command");
  }

  private LabState start(LabState state, String name, List<String> command) throws IOException {
    Path log = dir.resolve("logs").resolve(name + ".log");
    Files.createDirectories(log.getParent());
    Files.write(commandFile(name), command);
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
