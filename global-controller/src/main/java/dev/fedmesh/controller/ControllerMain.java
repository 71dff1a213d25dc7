package dev.fedmesh.controller;

import dev.fedmesh.controller.model.FailoverOrder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code global-controller}: runs one controller replica until it is terminated. */
@Command(
    name = "global-controller",
    mixinStandardHelpOptions = true,
    description = "Runs one replica of the fedmesh global controller.")
public final class ControllerMain implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--etcd",
      split = ",",
      defaultValue = "http://127.0.0.1:2379",
      description = "etcd client URLs, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> etcd;

  @Option(
      names = "--xds-address",
      defaultValue = "127.0.0.1:15010",
      description = "Where xDS and federation listen (default: ${DEFAULT-VALUE}).")
  String xdsAddress;

  @Option(
      names = "--admin-address",
      defaultValue = "127.0.0.1:15014",
      description = "Where the admin API and metrics listen (default: ${DEFAULT-VALUE}).")
  String adminAddress;

  @Option(names = "--replica-id", description = "This replica's name (default: controller-<pid>).")
  String replicaId;

  @Option(
      names = "--session-ttl",
      defaultValue = "10s",
      description = "How long a cluster stays connected after its agent's last keep-alive.")
  String sessionTtl;

  @Option(
      names = "--region-failover",
      description =
          "Failover order of a region, nearest first: us-east=us-west,eu-central (repeatable).")
  List<String> regionFailover = new ArrayList<>();

  @Option(
      names = "--liveness-grace",
      defaultValue = "60s",
      description = "How long a disconnected cluster's endpoints keep their priority.")
  String livenessGrace;

  @Option(
      names = "--liveness-expiry",
      defaultValue = "24h",
      description = "How long after disconnecting a cluster's endpoints stop being served.")
  String livenessExpiry;

  @Option(
      names = "--agent-tokens",
      description = "YAML file of agent identities (token digests and clusters); default: open.")
  Path agentTokens;

  @Override
  public Integer call() throws Exception {
    ControllerConfig config;
    try {
      config = config();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (config.agentTokens().isOpen()) {
      LoggerFactory.getLogger(ControllerMain.class)
          .warn("no --agent-tokens: any agent may speak for any cluster (fine for a lab only)");
    }
    GlobalController controller = GlobalController.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  controller.close();
                  stopped.countDown();
                },
                "controller-shutdown"));
    stopped.await();
    return 0;
  }

  private ControllerConfig config() throws java.io.IOException {
    Map<String, List<String>> failover = new LinkedHashMap<>();
    for (String entry : regionFailover) {
      Map.Entry<String, List<String>> parsed = FailoverOrder.parseEntry(entry);
      if (failover.put(parsed.getKey(), parsed.getValue()) != null) {
        throw new IllegalArgumentException(
            "--region-failover: " + parsed.getKey() + " given twice (expected: once per region)");
      }
    }
    ControllerConfig.Builder builder =
        ControllerConfig.builder(
                etcd,
                HostPort.parse("--xds-address", xdsAddress),
                HostPort.parse("--admin-address", adminAddress))
            .sessionTtl(DurationParser.parse("--session-ttl", sessionTtl))
            .liveness(
                DurationParser.parse("--liveness-grace", livenessGrace),
                DurationParser.parse("--liveness-expiry", livenessExpiry))
            .failover(new FailoverOrder(failover));
    if (replicaId != null) {
      builder.replicaId(replicaId);
    }
    if (agentTokens != null) {
      builder.agentTokens(AgentTokens.load(agentTokens));
    }
    return builder.build();
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new ControllerMain()).execute(args));
  }

  /** {@code host:port} parsing that names the flag in its error. */
  static final class HostPort {
    private HostPort() {}

    static InetSocketAddress parse(String flag, String value) {
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw new IllegalArgumentException(flag + ": '" + value + "' (expected: host:port)");
      }
      try {
        int port = Integer.parseInt(value.substring(colon + 1));
        return new InetSocketAddress(value.substring(0, colon), port);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            flag + ": '" + value + "' (expected: host:port with port 0..65535)");
      }
    }
  }

  /** Durations as people write them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 24h}. */
  static final class DurationParser {
    private DurationParser() {}

    static Duration parse(String flag, String value) {
      try {
        if (value.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
        }
        long amount = Long.parseLong(value.substring(0, value.length() - 1));
        switch (value.charAt(value.length() - 1)) {
          case 's':
            return Duration.ofSeconds(amount);
          case 'm':
            return Duration.ofMinutes(amount);
          case 'h':
            return Duration.ofHours(amount);
          default:
            break;
        }
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        // fall through to the error below
      }
      throw new IllegalArgumentException(
          flag + ": '" + value + "' (expected: a duration such as 500ms, 10s, 2m or 24h)");
    }
  }
}
