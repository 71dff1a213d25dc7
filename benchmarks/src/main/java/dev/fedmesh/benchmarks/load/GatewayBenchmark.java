package dev.fedmesh.benchmarks.load;

import dev.fedmesh.model.policy.PolicyDurations;
import dev.fedmesh.trust.SvidVerifier;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Issue #7: what the east-west gateway's SNI passthrough adds. A workload's mutual-TLS client talks
 * to a mutual-TLS server either directly or through an {@code EastWestGateway} (a JVM of its own)
 * that reads the SNI and splices the bytes, never terminating TLS. Measured per topology:
 * request/response latency over established connections (open loop, from each request's scheduled
 * send time), the time to set up a connection (TCP, TLS handshake, first exchange), and closed-loop
 * throughput per core of the gateway. Prints one table; see benchmarks/README.md.
 */
@Command(
    name = "run-gateway-bench.sh",
    abbreviateSynopsis = true,
    sortOptions = false,
    description =
        "What the east-west gateway's SNI passthrough adds to mutual-TLS calls, next to direct"
            + " ones, on loopback: latency, connection setup, throughput per gateway core (see"
            + " benchmarks/README.md).")
public final class GatewayBenchmark implements Callable<Integer> {
  static final String SNI = SidecarProcess.SNI;

  @Mixin LoadOptions options = new LoadOptions();

  @Option(
      names = "--setups",
      paramLabel = "N",
      defaultValue = "1000",
      converter = PositiveInt.class,
      description =
          "Fresh connections set up one at a time on each path, alternating, after a fifth as many"
              + " (at least 50) unmeasured (default: ${DEFAULT-VALUE}).")
  int setups;

  @Option(
      names = "--gateway-threads",
      paramLabel = "N",
      defaultValue = "1",
      converter = PositiveInt.class,
      description = "The gateway's event loop threads (default: ${DEFAULT-VALUE}).")
  int gatewayThreads;

  @Option(
      names = "--gateway-jvm",
      paramLabel = "OPTIONS",
      defaultValue = "-Xmx64m -XX:+UseSerialGC",
      description = "The gateway's JVM options, as one argument (default: ${DEFAULT-VALUE}).")
  String gatewayJvm;

  GatewayBenchmark() {}

  private record Figures(
      String topology,
      LoopTally open,
      LatencySamples setup,
      long setupFailures,
      LoadGenerator.Result closed,
      double closedCores,
      long rssKib,
      long peakRssKib,
      boolean proxied) {
    Figures withSetup(Setups setups) {
      return new Figures(
          topology,
          open,
          setups.samples(),
          setups.failures(),
          closed,
          closedCores,
          rssKib,
          peakRssKib,
          proxied);
    }
  }

  /** One path's connection setups: the durations of those that worked, and how many failed. */
  private record Setups(LatencySamples samples, long failures) {}

  /**
   * Fresh connections one at a time, alternating direct and through the gateway so that both see
   * the same machine (JIT state, other load); a fifth as many rounds first as warm-up.
   */
  private static Setups[] connectionSetups(
      InetSocketAddress direct, InetSocketAddress gateway, TlsExchange exchange, int count)
      throws InterruptedException {
    LatencySamples[] samples = {new LatencySamples(), new LatencySamples()};
    long[] failures = new long[2];
    try (LoadGenerator toDirect = new LoadGenerator(direct, exchange);
        LoadGenerator toGateway = new LoadGenerator(gateway, exchange)) {
      int warmup = Math.max(50, count / 5);
      for (int i = 0; i < warmup + count; i++) {
        long d = toDirect.connectionSetup();
        long g = toGateway.connectionSetup();
        if (i >= warmup) {
          record(samples[0], failures, 0, d);
          record(samples[1], failures, 1, g);
        }
      }
    }
    return new Setups[] {new Setups(samples[0], failures[0]), new Setups(samples[1], failures[1])};
  }

  private static void record(LatencySamples samples, long[] failures, int path, long nanos) {
    if (nanos < 0) {
      failures[path]++;
    } else {
      samples.record(nanos);
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new GatewayBenchmark()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    String loadAtStart = ProcessStats.loadAverage();
    Path work = Files.createTempDirectory("fedmesh-gateway-bench");
    Deque<AutoCloseable> running = new ConcurrentLinkedDeque<>();
    Thread stopAll = new Thread(() -> SidecarBenchmark.closeAll(running), "stop-children");
    Runtime.getRuntime().addShutdownHook(stopAll);
    EventLoopGroup appLoop =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("app", true), NioIoHandler.newFactory());
    List<Figures> figures = new ArrayList<>();
    try {
      int body = options.body;
      BenchPki pki = new BenchPki(work);
      SvidVerifier verifier = BenchPki.verifier(work);
      SslContext serverTls = MeshTls.server(pki.issue("server"), verifier);
      SslContext clientTls = MeshTls.client(pki.issue("client"), verifier);
      TlsResponder app = new TlsResponder(appLoop, serverTls, body);
      running.push(app);
      TlsExchange exchange = new TlsExchange(clientTls, SNI, body);
      System.out.printf(
          "fedmesh gateway benchmark: %s per path at %s rps after %s warm-up, %d B each way,"
              + " %s connection setups, closed loop %s x %s connections; logs in %s%n",
          PolicyDurations.format(options.duration),
          options.rate,
          PolicyDurations.format(options.warmup),
          body,
          setups,
          PolicyDurations.format(options.closedDuration),
          options.concurrency,
          work);
      ChildProcess gateway = startGateway(work, app.address());
      running.push(gateway);
      InetSocketAddress entry = gateway.awaitListening(Duration.ofSeconds(30));
      List<Target> targets =
          List.of(
              new Target("direct", app.address(), List.of()),
              new Target("gateway", entry, List.of(gateway)));
      Map<Target, LoopTally> open = openLoops(targets, exchange);
      Map<Target, Long> rss = new LinkedHashMap<>();
      for (Target target : targets) {
        rss.put(target, target.proxies().isEmpty() ? 0 : ProcessStats.rssKib(gateway.pid()));
      }
      Figures direct = closedLoop(targets.get(0), open.get(targets.get(0)), 0, exchange);
      Figures through =
          closedLoop(targets.get(1), open.get(targets.get(1)), rss.get(targets.get(1)), exchange);
      System.out.printf(
          "connection setups: %d direct and %d through the gateway, alternating%n", setups, setups);
      Setups[] setup = connectionSetups(app.address(), entry, exchange, setups);
      figures.add(direct.withSetup(setup[0]));
      figures.add(through.withSetup(setup[1]));
      gateway.close();
    } finally {
      SidecarBenchmark.closeAll(running);
      appLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      Runtime.getRuntime().removeShutdownHook(stopAll);
    }
    System.out.println();
    System.out.print(report(figures));
    System.out.printf(
        "Machine: %d cores, load average %s at start, %s at end (other work skews every figure).%n",
        Runtime.getRuntime().availableProcessors(), loadAtStart, ProcessStats.loadAverage());
    if (!options.keep) {
      SidecarBenchmark.deleteTree(work);
    }
    return 0;
  }

  private ChildProcess startGateway(Path work, InetSocketAddress backend) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(options.java.toString());
    command.addAll(Arrays.asList(gatewayJvm.trim().split("\\s+")));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(GatewayProcess.class.getName());
    command.add(SNI);
    command.add(SidecarBenchmark.hostPort(backend));
    command.add(Integer.toString(gatewayThreads));
    return ChildProcess.start("gateway", command, work);
  }

  /** Where the load goes, and the proxy processes on the way. */
  private record Target(String name, InetSocketAddress entry, List<ChildProcess> proxies) {}

  /**
   * Warms both paths up, then runs the open loop in {@code --rounds} slices per path, taking them
   * in turn (rotated each round) so that load from outside the benchmark falls on both alike.
   */
  private Map<Target, LoopTally> openLoops(List<Target> targets, TlsExchange exchange)
      throws Exception {
    int rate = options.rate;
    int rounds = options.rounds;
    Duration warmup = options.warmup;
    Duration slice = options.duration.dividedBy(rounds);
    Map<Target, LoadGenerator> loads = new LinkedHashMap<>();
    Map<Target, LoopTally> tallies = new LinkedHashMap<>();
    try {
      for (Target target : targets) {
        LoadGenerator load = new LoadGenerator(target.entry(), exchange);
        loads.put(target, load);
        tallies.put(target, new LoopTally());
        load.connect(options.connections);
        Duration burst = warmup.dividedBy(3);
        System.out.printf(
            "%s: warm-up %s closed loop, %s at %d rps%n",
            target.name(), burst, warmup.minus(burst), rate);
        load.closedLoop(burst);
        load.openLoop(rate, warmup.minus(burst));
      }
      for (int round = 0; round < rounds; round++) {
        System.out.printf("open loop round %d of %d, %s per path%n", round + 1, rounds, slice);
        for (int i = 0; i < targets.size(); i++) {
          Target target = targets.get((i + round) % targets.size());
          tallies.get(target).openSlice(loads.get(target), target.proxies(), rate, slice);
        }
      }
    } finally {
      loads.values().forEach(LoadGenerator::close);
    }
    return tallies;
  }

  private Figures closedLoop(Target target, LoopTally open, long rssKib, TlsExchange exchange)
      throws Exception {
    LoadGenerator.Result closed;
    double closedCores;
    try (LoadGenerator load = new LoadGenerator(target.entry(), exchange)) {
      load.connect(options.concurrency);
      System.out.printf(
          "%s: closed loop %s with %s connections%n",
          target.name(), PolicyDurations.format(options.closedDuration), options.concurrency);
      load.closedLoop(Duration.ofSeconds(2));
      CpuWindow window = CpuWindow.start(target.proxies());
      closed = load.closedLoop(options.closedDuration);
      closedCores = window.coresUsed();
    }
    boolean proxied = !target.proxies().isEmpty();
    long peak = proxied ? ProcessStats.peakRssKib(target.proxies().get(0).pid()) : 0;
    return new Figures(target.name(), open, null, 0, closed, closedCores, rssKib, peak, proxied);
  }

  private static final double[] QUANTILES = {0.50, 0.90, 0.99, 0.999};

  private String report(List<Figures> figures) {
    Figures direct = figures.get(0);
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "Request/response over established mTLS connections: open loop %s rps for %s"
                + " (%s interleaved slices), %s B each way; latency (µs) from each request's"
                + " scheduled send time%n",
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
      latency.row(
          latencyRow(
              f.topology(),
              f.open().latency,
              direct.open().latency,
              f == direct,
              f.open().ok,
              f.open().errors,
              f.open().sendLag));
    }
    out.append(latency.render());
    out.append("+pXX: added latency, the topology's percentile minus direct's.\n");
    for (Figures f : figures) {
      f.open()
          .errorKinds
          .forEach(
              (kind, count) ->
                  out.append("  " + f.topology() + " errors: " + count + " " + kind + "\n"));
      f.closed()
          .errorKinds()
          .forEach(
              (kind, count) ->
                  out.append(
                      "  " + f.topology() + " closed-loop errors: " + count + " " + kind + "\n"));
    }
    out.append('\n');

    out.append(
        String.format(
            "Connection setup (µs): connect, TLS 1.3 handshake with client certificate, first"
                + " %s B exchange; %s fresh connections one after another%n",
            options.body, setups));
    Table setup =
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
            "failed");
    for (Figures f : figures) {
      List<Object> row = new ArrayList<>();
      row.add(f.topology());
      for (double q : QUANTILES) {
        row.add(Table.micros(f.setup().percentileMicros(q)));
      }
      row.add(Table.micros(f.setup().maxMicros()));
      for (double q : QUANTILES) {
        row.add(
            f == direct
                ? "-"
                : Table.signedMicros(
                    f.setup().percentileMicros(q) - direct.setup().percentileMicros(q)));
      }
      row.add(f.setup().count());
      row.add(f.setupFailures());
      setup.row(row.toArray());
    }
    out.append(setup.render()).append('\n');

    out.append(
        String.format(
            "Throughput: closed loop %s with %s keep-alive mTLS connections; gateway memory%n",
            PolicyDurations.format(options.closedDuration), options.concurrency));
    Table throughput =
        new Table(
            "topology",
            "closed rps",
            "closed p50",
            "closed p99",
            "errors",
            "gateway cores",
            "rps/gateway core",
            "CPU @rate (cores)",
            "RSS MB",
            "peak RSS MB");
    for (Figures f : figures) {
      throughput.row(
          f.topology(),
          String.format("%.0f", f.closed().perSecond()),
          Table.micros(f.closed().latency().percentileMicros(0.5)),
          Table.micros(f.closed().latency().percentileMicros(0.99)),
          f.closed().errors(),
          f.proxied() ? String.format("%.2f", f.closedCores()) : "-",
          f.proxied() ? String.format("%.0f", f.closed().perSecond() / f.closedCores()) : "-",
          f.proxied() ? String.format("%.3f", f.open().coresUsed()) : "-",
          f.proxied() ? String.format("%.1f", f.rssKib() / 1024.0) : "-",
          f.proxied() ? String.format("%.1f", f.peakRssKib() / 1024.0) : "-");
    }
    out.append(throughput.render());
    out.append(
        "gateway cores: the gateway's CPU seconds per wall second during the closed loop;"
            + " rps/gateway core: closed rps / gateway cores.\n");
    return out.toString();
  }

  private static Object[] latencyRow(
      String name,
      LatencySamples l,
      LatencySamples base,
      boolean isBase,
      long ok,
      long errors,
      LatencySamples lag) {
    List<Object> row = new ArrayList<>();
    row.add(name);
    for (double q : QUANTILES) {
      row.add(Table.micros(l.percentileMicros(q)));
    }
    row.add(Table.micros(l.maxMicros()));
    for (double q : QUANTILES) {
      row.add(isBase ? "-" : Table.signedMicros(l.percentileMicros(q) - base.percentileMicros(q)));
    }
    row.add(ok);
    row.add(errors);
    row.add(Table.micros(lag.percentileMicros(0.99)));
    return row.toArray();
  }
}
