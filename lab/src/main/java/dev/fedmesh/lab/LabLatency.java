package dev.fedmesh.lab;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code fedmesh lab latency}: the call latency of one demo pod reached from its own cluster and
 * from another, open loop at a fixed rate. Both scenarios call {@code payments}, which calls
 * nothing further (one answer is one hop), and both land on west's payments pod: from west's load
 * generator the call passes two sidecars; from east's, which runs no payments, it passes east's
 * sidecar, west's east-west gateway and the pod's sidecar. Only the path differs. The scenarios
 * take turns in slices, in a rotated order each round, so that load from outside the lab falls on
 * both alike.
 */
public final class LabLatency {
  /**
   * A path to measure.
   *
   * @param name how the table names it
   * @param from the cluster whose load generator calls
   * @param service the demo service it calls
   * @param servedIn the only cluster whose answers count as this path
   * @param path the hops a request takes, for the table's notes
   */
  public record Scenario(String name, String from, String service, String servedIn, String path) {}

  /** Same-cluster first, then cross-cluster; both end at west's payments pod. */
  public static final List<Scenario> SCENARIOS =
      List.of(
          new Scenario(
              "same-cluster",
              "west",
              "payments",
              "west",
              "west loadgen -> its sidecar -> payments' sidecar -> payments, all in west"),
          new Scenario(
              "cross-cluster",
              "east",
              "payments",
              "west",
              "east loadgen -> its sidecar -> west's east-west gateway -> payments' sidecar"
                  + " -> payments"));

  /**
   * How to measure.
   *
   * @param rps requests a second, per scenario
   * @param warmup how long each scenario runs, unmeasured, before the first round
   * @param duration the measured time per scenario, over all rounds
   * @param rounds how many slices {@code duration} is cut into, scenarios taking turns
   */
  public record Settings(int rps, Duration warmup, Duration duration, int rounds) {
    public Settings {
      requireNonNull(warmup, "warmup");
      requireNonNull(duration, "duration");
      if (rps < 1 || rps > 5000) {
        throw new LabException("--rps: " + rps + " (expected: 1 to 5000)");
      }
      if (warmup.isNegative()) {
        throw new LabException("--warmup: " + text(warmup) + " (expected: 0s or more)");
      }
      if (rounds < 1) {
        throw new LabException("--rounds: " + rounds + " (expected: at least 1)");
      }
      if (duration.dividedBy(rounds).compareTo(Duration.ofSeconds(1)) < 0) {
        throw new LabException(
            "--duration: "
                + text(duration)
                + " (expected: at least 1 s per round, "
                + rounds
                + " s for --rounds "
                + rounds
                + ")");
      }
    }

    /** One round's slice of {@link #duration}. */
    public Duration slice() {
      return duration.dividedBy(rounds);
    }

    /** The flags that give these settings, as {@code fedmesh lab latency} takes them. */
    public String flags() {
      return "--rps "
          + rps
          + " --duration "
          + text(duration)
          + " --warmup "
          + text(warmup)
          + " --rounds "
          + rounds;
    }
  }

  /** One scenario's figures over every round. */
  public record Row(Scenario scenario, LabTraffic.Summary summary) {
    /** Whether every answer came from the cluster the scenario means to reach. */
    public boolean servedAsIntended() {
      return summary.byCluster().keySet().stream().allMatch(scenario.servedIn()::equals);
    }
  }

  /**
   * A run's figures.
   *
   * @param loadAtStart the machine's load averages (1, 5 and 15 minutes) when measuring began
   * @param loadAtEnd the same when it ended
   */
  public record Result(
      Settings settings, List<Row> rows, String loadAtStart, String loadAtEnd, int cores) {
    public Result {
      requireNonNull(settings, "settings");
      rows = List.copyOf(rows);
      requireNonNull(loadAtStart, "loadAtStart");
      requireNonNull(loadAtEnd, "loadAtEnd");
    }

    /** No request failed and every answer came from where its scenario meant. */
    public boolean ok() {
      return rows.stream().allMatch(row -> row.summary().failed() == 0 && row.servedAsIntended());
    }

    /** The table a person reads: one line per scenario, then the paths and the machine's load. */
    public String table() {
      StringBuilder table = new StringBuilder();
      table.append(
          String.format(
              Locale.ROOT,
              "fedmesh lab latency %s%n(open loop; latency from each request's scheduled send to"
                  + " the last byte of its answer)%n%n",
              settings.flags()));
      String format = "%-14s %-17s %6s %9s %7s %8s %8s %8s  %s%n";
      table.append(
          String.format(
              Locale.ROOT,
              format,
              "scenario",
              "from -> to",
              "rate/s",
              "requests",
              "failed",
              "p50 ms",
              "p90 ms",
              "p99 ms",
              "served by"));
      for (Row row : rows) {
        LabTraffic.Summary summary = row.summary();
        table.append(
            String.format(
                Locale.ROOT,
                format,
                row.scenario().name(),
                row.scenario().from() + " -> " + row.scenario().service(),
                settings.rps(),
                summary.total(),
                summary.failed(),
                millis(summary.p50Ms()),
                millis(summary.p90Ms()),
                millis(summary.p99Ms()),
                servedBy(summary.byCluster())));
      }
      table.append(System.lineSeparator());
      for (Row row : rows) {
        table.append(
            String.format(
                Locale.ROOT, "%-15s%s%n", row.scenario().name() + ":", row.scenario().path()));
      }
      for (Row row : rows) {
        if (!row.servedAsIntended()) {
          table.append(
              String.format(
                  Locale.ROOT,
                  "NOT as intended: %s answers came from %s (expected %s only)%n",
                  row.scenario().name(),
                  servedBy(row.summary().byCluster()),
                  row.scenario().servedIn()));
        }
        if (!row.summary().firstError().isEmpty()) {
          table.append(
              String.format(
                  Locale.ROOT,
                  "%s: first error: %s%n",
                  row.scenario().name(),
                  row.summary().firstError()));
        }
      }
      table.append(
          String.format(
              Locale.ROOT,
              "load average (1, 5, 15 min): %s at start, %s at end; %d cores%n",
              loadAtStart,
              loadAtEnd,
              cores));
      return table.toString();
    }
  }

  private static final Path LOADAVG = Path.of("/proc/loadavg");

  private final LocalLab lab;
  private final PrintStream out;

  public LabLatency(LocalLab lab, PrintStream out) {
    this.lab = requireNonNull(lab, "lab");
    this.out = requireNonNull(out, "out");
  }

  /**
   * Waits until the mesh has converged, warms each scenario up, then measures them in turns. The
   * lab must be running.
   */
  public Result run(Settings settings) throws IOException, InterruptedException {
    requireNonNull(settings, "settings");
    lab.awaitConverged(Duration.ofSeconds(90));
    out.println("mesh converged: every sidecar reaches every announced service");
    Map<Scenario, LabTraffic> measured = new LinkedHashMap<>();
    for (Scenario scenario : SCENARIOS) {
      if (!settings.warmup().isZero()) {
        LabTraffic.Summary warm = traffic(scenario).run(settings.rps(), settings.warmup(), null);
        out.printf(
            Locale.ROOT,
            "warm-up %-14s %d requests, %d failed, p50 %s ms, p99 %s ms%n",
            scenario.name(),
            warm.total(),
            warm.failed(),
            millis(warm.p50Ms()),
            millis(warm.p99Ms()));
      }
      measured.put(scenario, traffic(scenario));
    }
    String loadAtStart = loadAverage(LOADAVG);
    for (int round = 0; round < settings.rounds(); round++) {
      for (Scenario scenario : order(SCENARIOS, round)) {
        measured.get(scenario).run(settings.rps(), settings.slice(), null);
      }
      out.printf(Locale.ROOT, "round %d of %d measured%n", round + 1, settings.rounds());
    }
    String loadAtEnd = loadAverage(LOADAVG);
    List<Row> rows = new ArrayList<>();
    measured.forEach((scenario, traffic) -> rows.add(new Row(scenario, traffic.summary())));
    return new Result(
        settings, rows, loadAtStart, loadAtEnd, Runtime.getRuntime().availableProcessors());
  }

  private LabTraffic traffic(Scenario scenario) throws IOException {
    return new LabTraffic(
        LabTraffic.loadgenSidecar(lab.dir(), scenario.from()), scenario.service());
  }

  /** The scenarios in round {@code round}'s order: rotated by one each round. */
  static <T> List<T> order(List<T> scenarios, int round) {
    List<T> order = new ArrayList<>(scenarios.size());
    for (int i = 0; i < scenarios.size(); i++) {
      order.add(scenarios.get((round + i) % scenarios.size()));
    }
    return order;
  }

  /** The first three fields of {@code /proc/loadavg}, or {@code unknown} where there is none. */
  static String loadAverage(Path file) {
    try {
      String[] fields = Files.readString(file).trim().split("\\s+");
      return fields.length < 3 ? "unknown" : String.join(" ", fields[0], fields[1], fields[2]);
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String servedBy(Map<String, Long> byCluster) {
    if (byCluster.isEmpty()) {
      return "-";
    }
    List<String> parts = new ArrayList<>();
    byCluster.forEach((cluster, count) -> parts.add(cluster + "=" + count));
    return String.join(" ", parts);
  }

  private static String millis(double ms) {
    return String.format(Locale.ROOT, "%.2f", ms);
  }

  /** 30s, 1500ms: as the flags take durations. */
  static String text(Duration duration) {
    long millis = duration.toMillis();
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }
}
