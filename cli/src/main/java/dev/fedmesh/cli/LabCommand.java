package dev.fedmesh.cli;

import dev.fedmesh.lab.LabLatency;
import dev.fedmesh.lab.LabTraffic;
import dev.fedmesh.lab.LocalLab;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fedmesh lab ...}: the local lab. */
@Command(
    name = "lab",
    mixinStandardHelpOptions = true,
    description = "Runs a real three-cluster mesh on this machine (no Docker needed).",
    subcommands = {
      LabCommand.Up.class,
      LabCommand.Down.class,
      LabCommand.Status.class,
      LabCommand.Traffic.class,
      LabCommand.Latency.class,
      LabCommand.KillCluster.class,
      LabCommand.ReviveCluster.class
    })
final class LabCommand {
  @Option(
      names = "--dir",
      defaultValue = ".fedmesh-lab",
      scope = CommandLine.ScopeType.INHERIT,
      description = "The lab's state and logs directory (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Command(
      name = "up",
      description =
          "Starts etcd, the controller and the clusters east, west and central with the demo app,"
              + " then returns.")
  static final class Up implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--cert-ttl",
        defaultValue = "1h",
        description =
            "Workload certificate lifetime, e.g. 30s, 10m, 1h (default: ${DEFAULT-VALUE}).")
    String certTtl;

    @Override
    public Integer call() throws Exception {
      Duration ttl = duration("--cert-ttl", certTtl);
      new LocalLab(
              dir(spec),
              System.out,
              new LocalLab.Options(1, 1, ttl, LocalLab.Options.DEFAULT.livenessGrace()))
          .up();
      return 0;
    }
  }

  @Command(name = "down", description = "Stops every process the lab started.")
  static final class Down implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).down();
      return 0;
    }
  }

  @Command(
      name = "status",
      description = "Shows the lab's processes, addresses and every proxy with its sync state.")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).status(output.output == OutputOptions.Format.json);
      return 0;
    }
  }

  @Command(
      name = "traffic",
      description =
          "Sends requests from a cluster's load generator, through its sidecar, to a service;"
              + " shows where they land.")
  static final class Traffic implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin OutputOptions output;

    @Option(names = "--from", required = true, description = "The cluster to send from.")
    String from;

    @Option(
        names = "--to",
        required = true,
        description = "The service to call: frontend, checkout or payments.")
    String to;

    @Option(
        names = "--rps",
        defaultValue = "20",
        description = "Requests a second (default: ${DEFAULT-VALUE}).")
    int rps;

    @Option(
        names = "--duration",
        defaultValue = "10s",
        description = "How long, e.g. 30s or 2m (default: ${DEFAULT-VALUE}).")
    String duration;

    @Override
    public Integer call() throws Exception {
      Duration length = duration("--duration", duration);
      boolean json = output.output == OutputOptions.Format.json;
      LabTraffic traffic = new LabTraffic(LabTraffic.loadgenSidecar(dir(spec), from), to);
      PrintStream live =
          json ? new PrintStream(System.err, true, StandardCharsets.UTF_8) : System.out;
      live.printf("sending %d rps from %s to %s for %s%n", rps, from, to, duration);
      LabTraffic.Summary summary = traffic.run(rps, length, live);
      if (json) {
        System.out.println(summary.json().toPrettyString());
      } else {
        System.out.printf(
            "%ntotal %d, failed %d, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms%nby cluster: %s%n"
                + "by version: %s%n",
            summary.total(),
            summary.failed(),
            summary.p50Ms(),
            summary.p90Ms(),
            summary.p99Ms(),
            summary.byCluster(),
            summary.byVersion());
        if (!summary.firstError().isEmpty()) {
          System.out.println("first error: " + summary.firstError());
        }
      }
      return summary.failed() == 0 ? 0 : 1;
    }
  }

  @Command(
      name = "latency",
      mixinStandardHelpOptions = true,
      description =
          "Measures call latency to west's payments pod from its own cluster (two sidecars) and"
              + " from east (through west's east-west gateway), open loop; prints p50/p90/p99.")
  static final class Latency implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--rps",
        defaultValue = "50",
        description = "Requests a second, per scenario (default: ${DEFAULT-VALUE}).")
    int rps;

    @Option(
        names = "--duration",
        defaultValue = "30s",
        description = "Measured time per scenario, e.g. 30s or 2m (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(
        names = "--warmup",
        defaultValue = "10s",
        description =
            "Unmeasured load per scenario before measuring, 0s for none (default:"
                + " ${DEFAULT-VALUE}).")
    String warmup;

    @Option(
        names = "--rounds",
        defaultValue = "3",
        description =
            "Slices the duration is cut into, the scenarios taking turns, so that other load on"
                + " the machine falls on both alike (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
      LabLatency.Settings settings =
          new LabLatency.Settings(
              rps, duration("--warmup", warmup), duration("--duration", duration), rounds);
      LabLatency.Result result =
          new LabLatency(new LocalLab(dir(spec), System.out), System.out).run(settings);
      System.out.println();
      System.out.print(result.table());
      return result.ok() ? 0 : 1;
    }
  }

  @Command(
      name = "kill-cluster",
      description = "kill -9 of a cluster's process: its API, agent, gateway and pods die at once.")
  static final class KillCluster implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "NAME", description = "east, west or central")
    String name;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).killCluster(name);
      return 0;
    }
  }

  @Command(name = "revive-cluster", description = "Starts a killed cluster again.")
  static final class ReviveCluster implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "NAME", description = "east, west or central")
    String name;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).reviveCluster(name);
      return 0;
    }
  }

  /** Parses 30s, 10m, 1h, 500ms, naming the option when the value is wrong. */
  static Duration duration(String option, String value) {
    try {
      String v = value.trim().toLowerCase(java.util.Locale.ROOT);
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      return Duration.parse("PT" + v.toUpperCase(java.util.Locale.ROOT));
    } catch (RuntimeException e) {
      throw new CommandLine.ParameterException(
          new CommandLine(new LabCommand()),
          option + ": '" + value + "' (expected: a duration such as 500ms, 30s, 10m or 1h)");
    }
  }

  private static Path dir(CommandSpec spec) {
    CommandSpec parent = spec.parent();
    return ((LabCommand) parent.userObject()).dir;
  }
}
