package dev.fedmesh.controller;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code global-controller}: runs one controller replica until it is terminated. */
@Command(
    name = "global-controller",
    mixinStandardHelpOptions = true,
    description = "Runs one replica of the fedmesh global controller.")
public final class ControllerMain implements Callable<Integer> {
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
      description = "Where the admin API listens (default: ${DEFAULT-VALUE}).")
  String adminAddress;

  @Option(names = "--replica-id", description = "This replica's name (default: controller-<pid>).")
  String replicaId;

  @Option(
      names = "--session-ttl",
      defaultValue = "10s",
      description = "How long a cluster stays connected after its agent's last keep-alive.")
  String sessionTtl;

  @Override
  public Integer call() throws InterruptedException {
    ControllerConfig defaults =
        ControllerConfig.of(
            etcd,
            HostPort.parse("--xds-address", xdsAddress),
            HostPort.parse("--admin-address", adminAddress));
    ControllerConfig config =
        new ControllerConfig(
            defaults.etcdEndpoints(),
            defaults.xdsAddress(),
            defaults.adminAddress(),
            replicaId == null ? defaults.replicaId() : replicaId,
            DurationParser.parse("--session-ttl", sessionTtl),
            defaults.debounceQuiet(),
            defaults.debounceMax());
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

  public static void main(String[] args) {
    System.exit(new CommandLine(new ControllerMain()).execute(args));
  }

  /** {@code host:port} parsing that names the flag in its error. */
  static final class HostPort {
    private HostPort() {}

    static InetSocketAddress parse(String flag, String value) {
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw new CommandLine.ParameterException(
            new CommandLine(new ControllerMain()),
            flag + ": '" + value + "' (expected: host:port)");
      }
      try {
        int port = Integer.parseInt(value.substring(colon + 1));
        return new InetSocketAddress(value.substring(0, colon), port);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(
            new CommandLine(new ControllerMain()),
            flag + ": '" + value + "' (expected: host:port with port 0..65535)");
      }
    }
  }

  /** Durations as people write them: {@code 500ms}, {@code 10s}, {@code 2m}. */
  static final class DurationParser {
    private DurationParser() {}

    static Duration parse(String flag, String value) {
      try {
        if (value.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
        }
        if (value.endsWith("s")) {
          return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
        }
        if (value.endsWith("m")) {
          return Duration.ofMinutes(Long.parseLong(value.substring(0, value.length() - 1)));
        }
      } catch (NumberFormatException e) {
        // fall through to the error below
      }
      throw new CommandLine.ParameterException(
          new CommandLine(new ControllerMain()),
          flag + ": '" + value + "' (expected: a duration such as 500ms, 10s or 2m)");
    }
  }
}
