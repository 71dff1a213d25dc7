package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fedmesh lab up} and {@code down} as a user runs them: real processes, real ports. */
class LocalLabIT {
  @TempDir Path dir;

  private final ByteArrayOutputStream output = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
  private List<LabProcess> started = List.of();

  @AfterEach
  void leaveNothingRunning() throws Exception {
    new LocalLab(dir, out).down();
    for (LabProcess process : started) {
      assertThat(process.isRunning()).as("%s after lab down", process.name()).isFalse();
    }
  }

  @Test
  void upStartsThreeClustersWhoseSidecarsRouteByLocalityAndDownStopsEveryProcess()
      throws Exception {
    LocalLab lab = new LocalLab(dir, out);

    LabState state = lab.up();
    started = state.processes();

    assertThat(started)
        .extracting(LabProcess::name)
        .containsExactly("etcd", "controller-0", "cluster-east", "cluster-west", "cluster-central");
    assertThat(started).allMatch(LabProcess::isRunning);
    JsonNode status = lab.adminClient(state.controllerAdmin()).status();
    assertThat(status.path("clusters"))
        .extracting(c -> c.path("name").asText() + ":" + c.path("connected").asBoolean())
        .containsExactlyInAnyOrder("east:true", "west:true", "central:true");
    String printed = output.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("cluster east (us-east, 127.1.x.x) ready");
    assertThat(printed).contains("loadgen/v1").contains("SYNCED");

    // From east, checkout is served in east's own zone; payments (not in east) in us-west.
    LabTraffic.Summary checkout =
        new LabTraffic(LabTraffic.loadgenSidecar(dir, "east"), "checkout")
            .run(20, Duration.ofSeconds(2), null);
    assertThat(checkout.failed()).as(checkout.firstError()).isZero();
    assertThat(checkout.byCluster()).containsOnlyKeys("east");
    assertThat(checkout.byVersion()).containsOnlyKeys("v1");
    LabTraffic.Summary payments =
        new LabTraffic(LabTraffic.loadgenSidecar(dir, "east"), "payments")
            .run(20, Duration.ofSeconds(2), null);
    assertThat(payments.failed()).as(payments.firstError()).isZero();
    assertThat(payments.byCluster()).containsOnlyKeys("west");

    assertThatThrownBy(() -> new LocalLab(dir, out).up())
        .isInstanceOf(LabException.class)
        .hasMessageContaining("already running");

    int stopped = new LocalLab(dir, out).down();

    assertThat(stopped).isEqualTo(5);
    for (LabProcess process : started) {
      assertThat(ProcessHandle.of(process.pid()).filter(ProcessHandle::isAlive))
          .as("%s pid %d", process.name(), process.pid())
          .isEmpty();
    }
  }
}
