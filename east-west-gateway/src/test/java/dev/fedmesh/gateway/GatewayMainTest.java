package dev.fedmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line refuses what it cannot run, naming the option, before starting anything. */
class GatewayMainTest {
  private static String errors(String... args) {
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new GatewayMain()).setErr(new PrintWriter(err));
    int exit = command.execute(args);
    assertThat(exit).isEqualTo(2);
    return err.toString();
  }

  @Test
  void theControllerAndClusterAreRequired() {
    assertThat(errors()).contains("--cluster").contains("--controller");
  }

  @Test
  void addressesMustBeHostAndPort() {
    assertThat(errors("--controller", "127.0.0.1", "--cluster", "east"))
        .contains("--controller: '127.0.0.1' (expected: host:port)");
    assertThat(
            errors("--controller", "127.0.0.1:15010", "--cluster", "east", "--listen", "x:99999"))
        .contains("--listen: 'x:99999' (expected: host:port)");
  }

  @Test
  void withoutCertificatesTheGatewayRefusesToStartUnlessPlaintextIsAskedFor() {
    assertThat(errors("--controller", "127.0.0.1:15012", "--cluster", "east"))
        .contains("--tls-dir: missing (expected: the gateway's certificate");
  }

  @Test
  void drainTimeoutIsADuration() {
    assertThat(
            errors(
                "--controller", "127.0.0.1:15010", "--cluster", "east", "--drain-timeout", "soon"))
        .contains("--drain-timeout: 'soon' (expected: a duration such as 20s)");
  }
}
