package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.controller.admin.AdminClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
  void upServesTheSampleClusterAndDownStopsEveryProcess() throws Exception {
    LocalLab lab = new LocalLab(dir, out);

    LabState state = lab.up();
    started = state.processes();

    assertThat(started)
        .extracting(LabProcess::name)
        .containsExactly("etcd", "controller", "agent-east");
    assertThat(started).allMatch(LabProcess::isRunning);
    JsonNode status = new AdminClient(state.controllerAdmin()).status();
    assertThat(status.path("clusters").get(0).path("name").asText()).isEqualTo("east");
    assertThat(status.path("clusters").get(0).path("connected").asBoolean()).isTrue();
    assertThat(output.toString(StandardCharsets.UTF_8))
        .contains("LDS echo.default.svc.cluster.local:7070")
        .contains("priority 0  us-east/us-east-a  127.0.0.1:17070")
        .contains("priority 1  us-east/us-east-b  127.0.0.1:17071");

    assertThatThrownBy(() -> new LocalLab(dir, out).up())
        .isInstanceOf(LabException.class)
        .hasMessageContaining("already running");

    int stopped = new LocalLab(dir, out).down();

    assertThat(stopped).isEqualTo(3);
    for (LabProcess process : started) {
      assertThat(ProcessHandle.of(process.pid()).filter(ProcessHandle::isAlive))
          .as("%s pid %d", process.name(), process.pid())
          .isEmpty();
    }
  }
}
