package dev.fedmesh.benchmarks.load;

import dev.fedmesh.model.SidecarJvm;
import dev.fedmesh.model.policy.PolicyDurations;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Issue #5: the latency a pair of fedmesh sidecars adds to a request, next to a pair of haproxy
 * instances doing the same job, in one run on loopback.
 *
 * <ul>
 *   <li>{@code direct}: load generator → application.
 *   <li>{@code fedmesh}: load generator → sidecar (outbound HTTP proxy) → mutual TLS → sidecar
 *       (inbound, STRICT) → application; each sidecar a JVM of its own.
 *   <li>{@code haproxy}: load generator → haproxy A (HTTP) → mutual TLS → haproxy B → application.
 * </ul>
 *
 * For each topology in turn: a warm-up, then an open loop at a fixed rate (latency from each
 * request's scheduled send time), the proxies' resident memory and CPU, then a closed loop for the
 * most requests per second and per proxy core. Prints one table; see benchmarks/README.md.
 */
@Command(
    name = "run-sidecar-bench.sh",
    abbreviateSynopsis = true,
    sortOptions = false,
    description =
        "The latency, memory and CPU a pair of fedmesh sidecars adds to a request, next to a pair"
            + " of haproxy instances and to direct calls, on loopback (see benchmarks/README.md).")
public final class SidecarBenchmark implements Callable<Integer> {
  private static final String HOST = SidecarProcess.SERVICE + ":" + SidecarProcess.SERVICE_PORT;

  /** What {@code --topologies} may name. */
  static final List<String> TOPOLOGIES = List.of("direct", "fedmesh", "fedmesh-policy", "haproxy");

  @Mixin LoadOptions options = new LoadOptions();

  @Option(
      names = "--proxy-threads",
      paramLabel = "N",
      defaultValue = "1",
      converter = PositiveInt.class,
      description =
          "Event loop threads of each sidecar, and haproxy's nbthread (default: ${DEFAULT-VALUE}).")
  int proxyThreads;

  @Option(
      names = "--topologies",
      paramLabel = "TOPOLOGY",
      split = ",",
      defaultValue = "direct,fedmesh,haproxy",
      converter = TopologyName.class,
      description =
          "What to measure, comma-separated, of direct, fedmesh, haproxy and fedmesh-policy"
              + " (fedmesh with access logs and an authorization policy) (default:"
              + " ${DEFAULT-VALUE}).")
  List<String> topologies;

  @Option(
      names = "--sidecar-jvm",
      paramLabel = "OPTIONS",
      description =
          "The sidecars' JVM options, as one argument (default: those an injected sidecar runs"
              + " with, listed below).")
  String sidecarJvm = SidecarJvm.optionsLine();

  @Option(
      names = "--class-data",
      paramLabel = "true|false",
      arity = "1",
      defaultValue = "true",
      description =
          "Start the measured sidecars with class-data archives written by a training run, as an"
              + " image would ship them; false to measure without (default: ${DEFAULT-VALUE}).")
  boolean classData;

  SidecarBenchmark() {}

  /**
   * The benchmark's command line. Its usage ends with {@code --sidecar-jvm}'s default, broken
   * between options: wrapped in the option's description, it would be broken inside them.
   */
  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new SidecarBenchmark());
    List<String> footer = new ArrayList<>();
    footer.add("");
    footer.add("The sidecars' JVM options by default (SidecarJvm in mesh-model):");
    StringBuilder line = new StringBuilder();
    for (String option : SidecarJvm.OPTIONS) {
      if (line.length() > 0 && line.length() + 1 + option.length() > 78) {
        footer.add(line.toString());
        line.setLength(0);
      }
      line.append(line.length() == 0 ? "  " : " ").append(option);
    }
    footer.add(line.toString());
    commandLine.getCommandSpec().usageMessage().footer(footer.toArray(String[]::new));
    return commandLine;
  }

  /** One of {@link #TOPOLOGIES}; anything else is refused with the list. */
  static final class TopologyName implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      String name = value.strip();
      if (!TOPOLOGIES.contains(name)) {
        throw new TypeConversionException(
            "'" + name + "' (expected: one of " + String.join(", ", TOPOLOGIES) + ")");
      }
      return name;
    }
  }

  /** One topology's figures. */
  private record Figures(
      String topology,
      LoopTally open,
      LoopTally closed,
      List<String> proxyNames,
      long[] rssKib,
      long[] peakRssKib,
      long[] startupMillis) {}

  /** What a topology is while it runs: where the load goes, and the processes to watch. */
  private record Deployed(
      String name, InetSocketAddress entry, String uri, List<ChildProcess> proxies)
      implements AutoCloseable {
    @Override
    public void close() {
      // Stop the client-side proxy first, so the server side never sees an orphaned connection.
      for (ChildProcess proxy : proxies) {
        proxy.close();
      }
    }
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  @Override
  public Integer call() throws Exception {
    String loadAtStart = ProcessStats.loadAverage();
    Path work = Files.createTempDirectory("fedmesh-sidecar-bench");
    Deque<AutoCloseable> running = new ConcurrentLinkedDeque<>();
    Thread stopAll = new Thread(() -> closeAll(running), "stop-children");
    Runtime.getRuntime().addShutdownHook(stopAll);
    EventLoopGroup appLoop =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("app", true), NioIoHandler.newFactory());
    List<Figures> figures = new ArrayList<>();
    try {
      int body = options.body;
      HttpResponder app = new HttpResponder(appLoop, body);
      running.push(app);
      BenchPki pki = new BenchPki(work);
      pki.issue("client");
      pki.issue("server");
      System.out.printf(
          "fedmesh sidecar benchmark: %s per topology at %s rps in %s interleaved slices after %s"
              + " warm-up, %d B bodies, closed loop %s x %s connections; logs in %s%n",
          PolicyDurations.format(options.duration),
          options.rate,
          options.rounds,
          PolicyDurations.format(options.warmup),
          body,
          PolicyDurations.format(options.closedDuration),
          options.concurrency,
          work);
      List<Deployed> deployments = new ArrayList<>();
      for (String topology : topologies) {
        System.out.printf("%s: starting%n", topology);
        Deployed deployed = deploy(topology, work, app.address());
        running.push(deployed);
        deployments.add(deployed);
      }
      figures.addAll(measure(deployments, body));
    } finally {
      closeAll(running);
      appLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      Runtime.getRuntime().removeShutdownHook(stopAll);
    }
    System.out.println();
    System.out.print(report(figures));
    System.out.printf(
        "Machine: %d cores, load average %s at start, %s at end (other work skews every figure).%n",
        Runtime.getRuntime().availableProcessors(), loadAtStart, ProcessStats.loadAverage());
    if (!options.keep) {
      deleteTree(work);
    }
    return 0;
  }

  private Deployed deploy(String topology, Path work, InetSocketAddress app) throws Exception {
    switch (topology) {
      case "direct":
        return new Deployed(topology, app, "/echo", List.of());
      case "fedmesh", "fedmesh-policy":
        {
          String[] policy =
              topology.equals("fedmesh-policy") ? new String[] {"policy"} : new String[0];
          List<String> serverJvm = new ArrayList<>();
          List<String> clientJvm = new ArrayList<>();
          if (classData) {
            Path[] archives = trainClassData(topology, work, app, policy);
            serverJvm.add("-XX:SharedArchiveFile=" + archives[0]);
            clientJvm.add("-XX:SharedArchiveFile=" + archives[1]);
          }
          List<ChildProcess> pair = startPair(work, app, policy, topology, serverJvm, clientJvm);
          InetSocketAddress outbound = pair.get(0).awaitListening(Duration.ofSeconds(30));
          return new Deployed(topology, outbound, "http://" + HOST + "/echo", pair);
        }
      case "haproxy":
        {
          HaproxyPair pair = HaproxyPair.start(work, app, proxyThreads);
          return new Deployed(topology, pair.front(), "/echo", pair.processes());
        }
      default:
        throw new IllegalStateException("topology '" + topology + "' is not one of " + TOPOLOGIES);
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] all = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  /**
   * Application class-data sharing, as a sidecar image would ship it: a short training run of a
   * sidecar pair (started, a few thousand requests through it, stopped) writes one archive per side
   * with the classes it loaded, already parsed and verified; the measured sidecars map it instead
   * of reading and verifying those classes from the jar again. Returns the server's and the
   * client's archive.
   */
  private Path[] trainClassData(String topology, Path work, InetSocketAddress app, String[] policy)
      throws Exception {
    Path serverArchive = work.resolve(topology + "-server.jsa");
    Path clientArchive = work.resolve(topology + "-client.jsa");
    System.out.printf("%s: class-data archives (a training run)%n", topology);
    List<ChildProcess> pair =
        startPair(
            work,
            app,
            policy,
            topology + "-training",
            List.of("-XX:ArchiveClassesAtExit=" + serverArchive),
            List.of("-XX:ArchiveClassesAtExit=" + clientArchive));
    try {
      InetSocketAddress outbound = pair.get(0).awaitListening(Duration.ofSeconds(30));
      int body = options.body;
      try (LoadGenerator load =
          new LoadGenerator(
              outbound, new HttpExchange("http://" + HOST + "/echo", HOST, body, body))) {
        load.connect(4);
        load.closedLoop(Duration.ofSeconds(2));
      }
      for (ChildProcess sidecar : pair) {
        sidecar.stopAndWait(Duration.ofSeconds(60)); // the client first, then the server
      }
    } finally {
      pair.forEach(ChildProcess::close);
    }
    for (Path archive : List.of(serverArchive, clientArchive)) {
      if (!Files.isRegularFile(archive)) {
        throw new IllegalStateException(
            "the training run wrote no class-data archive "
                + archive
                + "; see the logs in "
                + work);
      }
    }
    return new Path[] {serverArchive, clientArchive};
  }

  /**
   * A caller's sidecar routing to a callee's sidecar in front of {@code app}, both listening;
   * returned client first (the order to stop them in). Neither is left running on a failure.
   */
  private List<ChildProcess> startPair(
      Path work,
      InetSocketAddress app,
      String[] policy,
      String name,
      List<String> serverJvm,
      List<String> clientJvm)
      throws Exception {
    String threads = Integer.toString(proxyThreads);
    List<ChildProcess> started = new ArrayList<>();
    try {
      ChildProcess server =
          sidecar(
              serverJvm,
              work,
              name + "-server",
              concat(new String[] {"inbound", "server", hostPort(app), threads}, policy));
      started.add(server);
      InetSocketAddress inbound = server.awaitListening(Duration.ofSeconds(30));
      ChildProcess client =
          sidecar(
              clientJvm,
              work,
              name + "-client",
              concat(
                  new String[] {"outbound", "client", "server", hostPort(inbound), threads},
                  policy));
      started.add(0, client);
      client.awaitListening(Duration.ofSeconds(30));
      return started;
    } catch (Exception | Error e) {
      started.forEach(ChildProcess::close);
      throw e;
    }
  }

  private ChildProcess sidecar(List<String> jvm, Path work, String name, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(options.java.toString());
    command.addAll(Arrays.asList(sidecarJvm.trim().split("\\s+")));
    command.addAll(jvm);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SidecarProcess.class.getName());
    command.add(args[0]);
    command.add(work.toString());
    command.addAll(Arrays.asList(args).subList(1, args.length));
    return ChildProcess.start(name, command, SidecarJvm.ENVIRONMENT, work);
  }

  /**
   * Warms every topology up, then runs the open loop in {@code --rounds} slices per topology,
   * taking the topologies in turn (and in a rotated order each round), so that load from outside
   * the benchmark falls on all of them alike; then each topology's closed loop.
   */
  private List<Figures> measure(List<Deployed> deployments, int body) throws Exception {
    int rate = options.rate;
    int rounds = options.rounds;
    Duration warmup = options.warmup;
    Duration slice = options.duration.dividedBy(rounds);
    Map<Deployed, LoadGenerator> loads = new LinkedHashMap<>();
    Map<Deployed, LoopTally> tallies = new LinkedHashMap<>();
    Map<Deployed, long[]> rss = new LinkedHashMap<>();
    try {
      for (Deployed deployed : deployments) {
        LoadGenerator load = load(deployed, body);
        loads.put(deployed, load);
        tallies.put(deployed, new LoopTally());
        load.connect(options.connections);
        Duration burst = warmup.dividedBy(3);
        System.out.printf(
            "%s: warm-up %s closed loop, %s at %d rps%n",
            deployed.name(), burst, warmup.minus(burst), rate);
        load.closedLoop(burst);
        load.openLoop(rate, warmup.minus(burst));
      }
      inTurn(
          deployments,
          rounds,
          "open loop",
          slice,
          deployed ->
              tallies
                  .get(deployed)
                  .openSlice(loads.get(deployed), deployed.proxies(), rate, slice));
      for (Deployed deployed : deployments) {
        rss.put(
            deployed,
            deployed.proxies().stream().mapToLong(p -> ProcessStats.rssKib(p.pid())).toArray());
      }
    } finally {
      loads.values().forEach(LoadGenerator::close);
    }
    Map<Deployed, LoopTally> closed = closedLoops(deployments, body);
    List<Figures> figures = new ArrayList<>();
    for (Deployed deployed : deployments) {
      long[] peak =
          deployed.proxies().stream().mapToLong(p -> ProcessStats.peakRssKib(p.pid())).toArray();
      figures.add(
          new Figures(
              deployed.name(),
              tallies.get(deployed),
              closed.get(deployed),
              deployed.proxies().stream().map(ChildProcess::name).toList(),
              rss.get(deployed),
              peak,
              deployed.proxies().stream()
                  .flatMap(p -> p.startup().stream())
                  .mapToLong(Duration::toMillis)
                  .toArray()));
    }
    return figures;
  }

  private static LoadGenerator load(Deployed deployed, int body) {
    return new LoadGenerator(deployed.entry(), new HttpExchange(deployed.uri(), HOST, body, body));
  }

  /** One slice of load on one topology. */
  private interface Slice {
    void run(Deployed deployed) throws InterruptedException;
  }

  /** {@code rounds} rounds of one slice per topology, taken in a rotated order each round. */
  private static void inTurn(
      List<Deployed> topologies, int rounds, String what, Duration slice, Slice run)
      throws InterruptedException {
    for (int round = 0; round < rounds; round++) {
      System.out.printf("%s round %d of %d, %s per topology%n", what, round + 1, rounds, slice);
      for (int i = 0; i < topologies.size(); i++) {
        run.run(topologies.get((i + round) % topologies.size()));
      }
    }
  }

  /**
   * The closed loop, interleaved as the open loop is: each topology warms up for 2 s, then gets
   * {@code --closed-duration / --rounds} at a time, in a rotated order each round. Run one topology
   * after the other instead, and a drift of the machine's speed during the run (seen here: ±10%
   * between minutes) lands on whichever topology was running, which decides the requests-per-core
   * comparison.
   */
  private Map<Deployed, LoopTally> closedLoops(List<Deployed> deployments, int body)
      throws Exception {
    int rounds = options.rounds;
    Duration slice = options.closedDuration.dividedBy(rounds);
    Map<Deployed, LoadGenerator> loads = new LinkedHashMap<>();
    Map<Deployed, LoopTally> tallies = new LinkedHashMap<>();
    try {
      for (Deployed deployed : deployments) {
        LoadGenerator load = load(deployed, body);
        loads.put(deployed, load);
        tallies.put(deployed, new LoopTally());
        load.connect(options.concurrency);
        System.out.printf(
            "%s: warm-up 2s closed loop with %s connections%n",
            deployed.name(), options.concurrency);
        load.closedLoop(Duration.ofSeconds(2));
      }
      inTurn(
          deployments,
          rounds,
          "closed loop",
          slice,
          deployed ->
              tallies.get(deployed).closedSlice(loads.get(deployed), deployed.proxies(), slice));
    } finally {
      loads.values().forEach(LoadGenerator::close);
    }
    return tallies;
  }

  private static final double[] QUANTILES = {0.50, 0.90, 0.99, 0.999};

  private String report(List<Figures> figures) {
    Figures direct =
        figures.stream().filter(f -> f.topology().equals("direct")).findFirst().orElse(null);
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "Open loop: %s rps for %s per topology (%s interleaved slices), %s B request and"
                + " response bodies; latency (µs) from each request's scheduled send time%n",
            options.rate, PolicyDurations.format(options.duration), options.rounds, options.body));
    Table latency =
        new Table(
            "topology",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "+p50",
            "+p90",
            "+p99",
            "+p99.9",
            "ok",
            "errors",
            "gen lag p99");
    for (Figures f : figures) {
      LatencySamples l = f.open().latency;
      List<Object> row = new ArrayList<>();
      row.add(f.topology());
      for (double q : QUANTILES) {
        row.add(Table.micros(l.percentileMicros(q)));
      }
      row.add(Table.micros(l.maxMicros()));
      for (double q : QUANTILES) {
        row.add(
            direct == null || f == direct
                ? "-"
                : Table.signedMicros(
                    l.percentileMicros(q) - direct.open().latency.percentileMicros(q)));
      }
      row.add(f.open().ok);
      row.add(f.open().errors);
      row.add(Table.micros(f.open().sendLag.percentileMicros(0.99)));
      latency.row(row.toArray());
    }
    out.append(latency.render());
    out.append("+pXX: added latency, the topology's percentile minus direct's.\n");
    out.append("p99 by slice (µs), in the order run:\n");
    for (Figures f : figures) {
      out.append(
          String.format(
              "  %-8s %s%n",
              f.topology(),
              f.open().sliceP99Micros.stream()
                  .map(Table::micros)
                  .collect(Collectors.joining(" "))));
    }
    for (Figures f : figures) {
      f.open()
          .errorKinds
          .forEach(
              (kind, count) ->
                  out.append("  " + f.topology() + " errors: " + count + " " + kind + "\n"));
      f.closed()
          .errorKinds
          .forEach(
              (kind, count) ->
                  out.append(
                      "  " + f.topology() + " closed-loop errors: " + count + " " + kind + "\n"));
    }
    out.append('\n');

    out.append(
        String.format(
            "Proxies: memory and CPU; closed loop %s with %s keep-alive connections (%s"
                + " interleaved slices)%n",
            PolicyDurations.format(options.closedDuration), options.concurrency, options.rounds));
    Table resources =
        new Table(
            "topology",
            "RSS MB (each)",
            "peak RSS MB",
            "CPU @rate (cores)",
            "closed rps",
            "closed p50",
            "closed p99",
            "closed errors",
            "proxy cores",
            "rps/proxy core",
            "startup ms");
    for (Figures f : figures) {
      boolean proxied = !f.proxyNames().isEmpty();
      resources.row(
          f.topology(),
          proxied ? megabytes(f.rssKib()) : "-",
          proxied ? megabytes(f.peakRssKib()) : "-",
          proxied ? String.format("%.3f", f.open().coresUsed()) : "-",
          String.format("%.0f", f.closed().perSecond()),
          Table.micros(f.closed().latency.percentileMicros(0.5)),
          Table.micros(f.closed().latency.percentileMicros(0.99)),
          f.closed().errors,
          proxied ? String.format("%.2f", f.closed().coresUsed()) : "-",
          proxied ? String.format("%.0f", f.closed().perCore()) : "-",
          f.startupMillis().length == 0
              ? "-"
              : Arrays.stream(f.startupMillis())
                  .mapToObj(Long::toString)
                  .collect(Collectors.joining(" / ")));
    }
    out.append(resources.render());
    out.append(
        "RSS (each): VmRSS after the open loop, client-side proxy first; peak: VmHWM after the"
            + " closed loop.\nproxy cores: CPU seconds of both proxies per wall second;"
            + " rps/proxy core: answers per CPU second of both proxies.\n\n");
    out.append(goals(figures, direct));
    return out.toString();
  }

  /** The goals of issue #16, each line ending "met" or "NOT met" with the figures it compares. */
  static String goals(List<Figures> figures, Figures direct) {
    Figures fedmesh = find(figures, "fedmesh");
    Figures haproxy = find(figures, "haproxy");
    StringBuilder out = new StringBuilder("Goals (issue #16)\n");
    if (direct != null && fedmesh != null && haproxy != null) {
      for (double q : new double[] {0.50, 0.99}) {
        double ours = added(fedmesh, direct, q);
        double theirs = added(haproxy, direct, q);
        out.append(
            goal(
                String.format("added p%.0f <= haproxy pair's", q * 100),
                String.format("fedmesh %+.0f µs vs haproxy %+.0f µs", ours, theirs),
                ours <= theirs));
      }
    }
    if (fedmesh != null && haproxy != null) {
      double ours = fedmesh.closed().perCore();
      double theirs = haproxy.closed().perCore();
      out.append(
          goal(
              "rps/proxy core >= haproxy's",
              String.format("fedmesh %.0f vs haproxy %.0f (%.2fx)", ours, theirs, ours / theirs),
              ours >= theirs));
    }
    if (fedmesh != null) {
      long open = Arrays.stream(fedmesh.rssKib()).max().orElse(0);
      long peak = Arrays.stream(fedmesh.peakRssKib()).max().orElse(0);
      out.append(
          goal(
              "RSS <= 60 MB per sidecar",
              String.format("largest %.1f MB after the open loop", open / 1024.0),
              open <= 60 * 1024));
      out.append(
          goal(
              "peak RSS <= 70 MB per sidecar",
              String.format("largest %.1f MB after the closed loop", peak / 1024.0),
              peak <= 70 * 1024));
      long startup = Arrays.stream(fedmesh.startupMillis()).max().orElse(Long.MAX_VALUE);
      out.append(
          goal(
              "startup to ready <= 1 s",
              String.format("slowest sidecar %d ms", startup),
              startup <= 1000));
    }
    if (direct != null && fedmesh != null) {
      out.append(
          String.format(
              "Reference, not a goal: Istio publishes +228 µs p90 / +298 µs p99 for its sidecar"
                  + " pair at 1,000 rps with mTLS (on other hardware); fedmesh here %+.0f µs /"
                  + " %+.0f µs.%n",
              added(fedmesh, direct, 0.90), added(fedmesh, direct, 0.99)));
    }
    return out.toString();
  }

  private static String goal(String goal, String figures, boolean met) {
    return String.format("  %-31s %s  -> %s%n", goal + ":", figures, met ? "met" : "NOT met");
  }

  private static Figures find(List<Figures> figures, String name) {
    return figures.stream().filter(f -> f.topology().equals(name)).findFirst().orElse(null);
  }

  private static double added(Figures f, Figures direct, double q) {
    return f.open().latency.percentileMicros(q) - direct.open().latency.percentileMicros(q);
  }

  private static String megabytes(long[] kib) {
    StringBuilder out = new StringBuilder();
    for (long k : kib) {
      if (out.length() > 0) {
        out.append(" / ");
      }
      out.append(String.format("%.1f", k / 1024.0));
    }
    return out.toString();
  }

  static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }

  static void closeAll(Deque<AutoCloseable> running) {
    AutoCloseable next;
    while ((next = running.poll()) != null) {
      try {
        next.close();
      } catch (Exception e) {
        System.err.println("stopping " + next + ": " + e);
      }
    }
  }

  static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
