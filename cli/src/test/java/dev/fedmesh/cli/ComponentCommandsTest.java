package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/**
 * One jar, and so one container image, runs every component: {@code fedmesh controller}, {@code
 * agent}, {@code gateway} and {@code sidecar} are the components' own commands, with their own
 * options and checks.
 */
class ComponentCommandsTest {
  @Test
  void everyComponentIsACommandWithItsOwnOptions() {
    for (String component : new String[] {"controller", "agent", "gateway", "sidecar"}) {
      StringWriter out = new StringWriter();
      int exit =
          FedmeshCommand.run(
              new PrintWriter(out, true), new PrintWriter(out, true), component, "--help");
      assertThat(exit).as(component + ": " + out).isZero();
      assertThat(out.toString()).as(component).contains("Usage: fedmesh " + component + " ");
    }
    StringWriter out = new StringWriter();
    FedmeshCommand.run(new PrintWriter(out, true), new PrintWriter(out, true), "agent", "--help");
    assertThat(out.toString()).contains("--cluster=").contains("--[no-]dns-capture");
  }

  @Test
  void aComponentRefusesOptionsThatAreNotItsOwn() {
    StringWriter err = new StringWriter();
    int exit =
        FedmeshCommand.run(
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true),
            "gateway",
            "--cluster",
            "west",
            "--controller",
            "127.0.0.1:15012",
            "--no-such-option");
    assertThat(exit).isNotZero();
    assertThat(err.toString()).contains("Unknown option: '--no-such-option'");
  }
}
