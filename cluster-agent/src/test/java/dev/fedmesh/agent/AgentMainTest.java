package dev.fedmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Command lines the agent refuses before it starts anything. */
class AgentMainTest {
  @TempDir Path dir;

  @Test
  void endpointsFileAndKubeconfigAreMutuallyExclusive() throws IOException {
    Path endpoints = Files.writeString(dir.resolve("endpoints.yaml"), "services: []\n");
    Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\n");

    String error =
        refused(
            "--cluster", "east",
            "--endpoints-file", endpoints.toString(),
            "--kubeconfig", kubeconfig.toString());

    assertThat(error).contains("mutually exclusive");
  }

  @Test
  void injectionNeedsKubernetes() throws IOException {
    Path endpoints = Files.writeString(dir.resolve("endpoints.yaml"), "services: []\n");

    String error =
        refused(
            "--cluster", "east",
            "--endpoints-file", endpoints.toString(),
            "--webhook-address", "127.0.0.1:0");

    assertThat(error)
        .contains(
            "--webhook-address: given with --endpoints-file (expected: injection only when"
                + " watching Kubernetes)");
  }

  @Test
  void webhookCertificateWithoutItsKeyIsRefused() throws IOException {
    Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\n");

    String error =
        refused(
            "--cluster",
            "east",
            "--kubeconfig",
            kubeconfig.toString(),
            "--webhook-address",
            "127.0.0.1:0",
            "--webhook-cert",
            dir.resolve("tls.crt").toString());

    assertThat(error).contains("--webhook-cert/--webhook-key: only one given");
  }

  @Test
  void unreadableKubeconfigIsNamed() {
    String error = refused("--cluster", "east", "--kubeconfig", dir.resolve("missing").toString());

    assertThat(error)
        .contains("--kubeconfig: '" + dir.resolve("missing") + "' (expected: a readable file)");
  }

  @Test
  void dnsCaptureIsOnUnlessTurnedOff() {
    AgentMain byDefault = new AgentMain();
    new CommandLine(byDefault).parseArgs("--cluster", "east");
    AgentMain off = new AgentMain();
    new CommandLine(off).parseArgs("--cluster", "east", "--no-dns-capture");

    assertThat(byDefault.dnsCapture).isTrue();
    assertThat(off.dnsCapture).isFalse();
  }

  private static String refused(String... args) {
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new AgentMain());
    command.setErr(new PrintWriter(err));
    int exit = command.execute(args);
    assertThat(exit).as("exit code of a refused command line").isEqualTo(2);
    return err.toString();
  }
}
