package dev.fedmesh.benchmarks.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fedmesh.model.SidecarJvm;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * The load harnesses' command lines, parsed (or refused) without running a benchmark: the flag
 * names and defaults the scripts and READMEs use, and errors that name the option.
 */
class LoadHarnessCommandLineTest {
  private static SidecarBenchmark parse(String... args) {
    SidecarBenchmark command = new SidecarBenchmark();
    new CommandLine(command).parseArgs(args);
    return command;
  }

  private static String refusal(String... args) {
    ParameterException refused = catchThrowableOfType(ParameterException.class, () -> parse(args));
    assertThat(refused).as("refused: %s", String.join(" ", args)).isNotNull();
    return refused.getMessage();
  }

  @Test
  void theDefaultsAreTheRealRun() {
    SidecarBenchmark command = parse();

    LoadOptions options = command.options;
    assertThat(options.duration).isEqualTo(Duration.ofSeconds(60));
    assertThat(options.warmup).isEqualTo(Duration.ofSeconds(15));
    assertThat(options.rounds).isEqualTo(6);
    assertThat(options.rate).isEqualTo(1000);
    assertThat(options.body).isEqualTo(1024);
    assertThat(options.connections).isEqualTo(32);
    assertThat(options.closedDuration).isEqualTo(Duration.ofSeconds(10));
    assertThat(options.concurrency).isEqualTo(16);
    assertThat(options.java).isEqualTo(Path.of(System.getProperty("java.home"), "bin", "java"));
    assertThat(options.keep).isFalse();
    assertThat(command.proxyThreads).isEqualTo(1);
    assertThat(command.topologies).containsExactly("direct", "fedmesh", "haproxy");
    assertThat(command.sidecarJvm).isEqualTo(SidecarJvm.optionsLine());
    assertThat(command.classData).isTrue();
  }

  @Test
  void readsValuesAfterTheNameOrAfterAnEqualsSign() {
    SidecarBenchmark command =
        parse(
            "--duration",
            "10s",
            "--warmup=5s",
            "--rounds",
            "3",
            "--keep",
            "true",
            "--class-data",
            "false",
            "--closed-duration",
            "1.5s",
            "--sidecar-jvm",
            "-Xmx64m -XX:+UseSerialGC",
            "--java",
            "/opt/jdk/bin/java",
            "--topologies",
            "fedmesh, haproxy",
            "--proxy-threads=2");

    assertThat(command.options.duration).isEqualTo(Duration.ofSeconds(10));
    assertThat(command.options.warmup).isEqualTo(Duration.ofSeconds(5));
    assertThat(command.options.rounds).isEqualTo(3);
    assertThat(command.options.keep).isTrue();
    assertThat(command.classData).isFalse();
    assertThat(command.options.closedDuration).isEqualTo(Duration.ofMillis(1500));
    assertThat(command.sidecarJvm).isEqualTo("-Xmx64m -XX:+UseSerialGC");
    assertThat(command.options.java).isEqualTo(Path.of("/opt/jdk/bin/java"));
    assertThat(command.topologies).containsExactly("fedmesh", "haproxy");
    assertThat(command.proxyThreads).isEqualTo(2);
  }

  @Test
  void durationsAreMillisecondsSecondsOrMinutes() {
    assertThat(parse("--duration", "500ms").options.duration).isEqualTo(Duration.ofMillis(500));
    assertThat(parse("--duration", "2m").options.duration).isEqualTo(Duration.ofMinutes(2));
    assertThat(parse("--warmup", "0s").options.warmup).isZero();
    assertThat(parse("--closed-duration", "1m30s").options.closedDuration)
        .isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void aDurationWithoutItsUnitIsRefusedWithTheExpectedForm() {
    assertThat(refusal("--duration", "10"))
        .contains("--duration")
        .contains("'10' (expected: a duration above zero such as 500ms, 10s, 1.5s or 2m)");
    assertThat(refusal("--warmup", "-5s"))
        .contains("--warmup")
        .contains("'-5s' (expected: a duration such as 500ms, 10s, 1.5s or 2m)");
    assertThat(refusal("--closed-duration", "0s")).contains("--closed-duration").contains("'0s'");
  }

  @Test
  void otherDurationFormsAreRefused() {
    for (String text : new String[] {"10", "-5s", "10 s", "1e3s", "NaNs", "s", "5 seconds"}) {
      assertThat(refusal("--duration", text)).as(text).contains("--duration").contains(text);
    }
  }

  @Test
  void countsMustBeWholeNumbersAboveZero() {
    assertThat(refusal("--rounds", "0"))
        .contains("--rounds")
        .contains("'0' (expected: a whole number above zero)");
    assertThat(refusal("--rate", "abc"))
        .contains("--rate")
        .contains("'abc' (expected: a whole number above zero)");
    assertThat(refusal("--connections", "-1")).contains("--connections");
    assertThat(refusal("--concurrency", "1.5")).contains("--concurrency");
    assertThat(refusal("--body", "0")).contains("--body");
  }

  @Test
  void booleansAreTrueOrFalse() {
    assertThat(refusal("--keep", "yes")).contains("--keep").contains("'yes'");
  }

  @Test
  void anUnknownTopologyIsRefusedWithTheKnownOnes() {
    assertThat(refusal("--topologies", "direct,envoy"))
        .contains("--topologies")
        .contains("'envoy' (expected: one of direct, fedmesh, fedmesh-policy, haproxy)");
  }

  @Test
  void anUnknownOptionIsRefusedByName() {
    assertThat(refusal("--nosuch", "1")).contains("--nosuch");
  }

  @Test
  void helpListsEveryOptionWithItsDefaultAndExitsZero() {
    StringWriter out = new StringWriter();
    int exit = SidecarBenchmark.commandLine().setOut(new PrintWriter(out, true)).execute("--help");

    assertThat(exit).isZero();
    assertThat(out.toString())
        .contains("--duration=DURATION")
        .contains("(default: 60s)")
        .contains("--rounds=N")
        .contains("(default: 6)")
        .contains("--topologies=TOPOLOGY[,TOPOLOGY...]")
        .contains("--keep=true|false")
        .contains("--class-data=true|false")
        .contains("\n  " + SidecarJvm.OPTIONS.get(0) + " " + SidecarJvm.OPTIONS.get(1) + " ");
  }

  @Test
  void aRefusedValueExitsTwoWithTheMessageAndTheUsage() {
    StringWriter err = new StringWriter();
    int exit =
        SidecarBenchmark.commandLine().setErr(new PrintWriter(err, true)).execute("--rounds", "0");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("--rounds").contains("'0'").contains("Usage:");
  }

  @Test
  void theGatewayBenchmarkSharesTheLoadOptionsAndKeepsItsOwnDefaults() {
    GatewayBenchmark command = new GatewayBenchmark();
    new CommandLine(command).parseArgs("--duration", "10s", "--setups", "200");

    assertThat(command.options.duration).isEqualTo(Duration.ofSeconds(10));
    assertThat(command.options.warmup).isEqualTo(Duration.ofSeconds(15));
    assertThat(command.setups).isEqualTo(200);
    assertThat(command.gatewayThreads).isEqualTo(1);
    assertThat(command.gatewayJvm).isEqualTo("-Xmx64m -XX:+UseSerialGC");
  }
}
