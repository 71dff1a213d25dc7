package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The kind lab's demo commands: what the load generator reports, and what it refuses. */
class DemoCommandTest {
  @Test
  void theLoadGeneratorCreditsTheClusterThatServedTheLastHop() {
    assertThat(
            DemoCommand.Load.lastCluster(
                "{\"service\":\"frontend\",\"cluster\":\"east\",\"upstream\":"
                    + "{\"service\":\"checkout\",\"cluster\":\"east\",\"upstream\":"
                    + "{\"service\":\"payments\",\"cluster\":\"central\"}}}"))
        .isEqualTo("central");
    assertThat(DemoCommand.Load.lastCluster("{\"service\":\"frontend\",\"cluster\":\"east\"}"))
        .isEqualTo("east");
    assertThat(DemoCommand.Load.lastCluster("not json")).isEqualTo("?");
  }

  @Test
  void aRateOutsideTheRangeIsRefusedByName() {
    StringWriter err = new StringWriter();
    int exit =
        FedmeshCommand.run(
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true),
            "demo-load",
            "--url",
            "http://127.0.0.1:1/",
            "--rps",
            "0");
    assertThat(exit).isNotZero();
    assertThat(err.toString()).contains("--rps: 0 (expected: 1..1000)");
  }
}
