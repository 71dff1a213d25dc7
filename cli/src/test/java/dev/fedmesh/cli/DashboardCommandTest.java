package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DashboardCommandTest {
  @Test
  void refusesToServeThePageBeyondLoopback() {
    CliRun run = CliRun.of("dashboard", "--address", "0.0.0.0", "--controller", "127.0.0.1:1");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains(
            "--address: '0.0.0.0' (expected: a loopback address; the page carries the admin"
                + " token's rights)");
  }

  @Test
  void refusesAPortOutOfRange() {
    CliRun run = CliRun.of("dashboard", "--port", "70000", "--controller", "127.0.0.1:1");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--port: 70000 (expected: 0 to 65535)");
  }
}
