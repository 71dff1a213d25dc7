package dev.fedmesh.benchmarks.load;

import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The options every load harness takes: the open loop (duration, warm-up, interleaved rounds, rate,
 * body size, connections), the closed loop (duration, concurrency), the JVM to start children with,
 * and whether to keep the working directory. A picocli mixin.
 */
final class LoadOptions {
  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Print these options with their defaults, and exit.")
  boolean help;

  @Option(
      names = "--duration",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationOption.PositiveConverter.class,
      description =
          "Measured open-loop time per topology: 500ms, 10s, 1.5s or 2m (default:"
              + " ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(
      names = "--warmup",
      paramLabel = "DURATION",
      defaultValue = "15s",
      converter = DurationOption.Converter.class,
      description =
          "Unmeasured load per topology before the first round, a third of it closed loop; 0s"
              + " for none (default: ${DEFAULT-VALUE}).")
  Duration warmup;

  @Option(
      names = "--rounds",
      paramLabel = "N",
      defaultValue = "6",
      converter = PositiveInt.class,
      description =
          "Slices the open loop (and the sidecars' closed loop) is cut into, the topologies"
              + " taking turns in a rotated order (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(
      names = "--rate",
      paramLabel = "RPS",
      defaultValue = "1000",
      converter = PositiveInt.class,
      description =
          "Open-loop requests per second, each sent on schedule whatever came before (default:"
              + " ${DEFAULT-VALUE}).")
  int rate;

  @Option(
      names = "--body",
      paramLabel = "BYTES",
      defaultValue = "1024",
      converter = PositiveInt.class,
      description = "Bytes in each request body and each answer (default: ${DEFAULT-VALUE}).")
  int body;

  @Option(
      names = "--connections",
      paramLabel = "N",
      defaultValue = "32",
      converter = PositiveInt.class,
      description =
          "Open-loop keep-alive connections, one request in flight on each (default:"
              + " ${DEFAULT-VALUE}).")
  int connections;

  @Option(
      names = "--closed-duration",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = DurationOption.PositiveConverter.class,
      description =
          "Measured closed-loop time per topology, after a 2 s warm-up (default:"
              + " ${DEFAULT-VALUE}).")
  Duration closedDuration;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "16",
      converter = PositiveInt.class,
      description =
          "Closed-loop connections, each sending its next request when the answer arrives"
              + " (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = "--java",
      paramLabel = "PATH",
      description = "The java that starts the child JVMs (default: this JVM's, ${DEFAULT-VALUE}).")
  Path java = Path.of(System.getProperty("java.home"), "bin", "java");

  @Option(
      names = "--keep",
      paramLabel = "true|false",
      arity = "1",
      defaultValue = "false",
      description =
          "Keep the working directory (configs, certificates, logs) instead of deleting it"
              + " (default: ${DEFAULT-VALUE}).")
  boolean keep;
}
