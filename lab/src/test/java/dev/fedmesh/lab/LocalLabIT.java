package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.PrometheusText;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

    // Everything the controller sends prints in a sidecar's config dump, extensions included.
    var loadgen = LabTraffic.loadgenSidecar(dir, "east");
    HttpResponse<String> dump =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://" + loadgen.getHostString() + ":15000/config_dump"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(dump.statusCode()).as(dump.body()).isEqualTo(200);
    assertThat(dump.body())
        .contains("\"virtualOutbound\"")
        .contains("envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate")
        .contains("payments.shop.svc.cluster.local");

    // Istio's metrics, both ends named through the metadata exchange across the gateway, and a
    // scrape config for them all.
    assertThat(printed).contains("Metrics: every sidecar serves Istio's standard metrics");
    String scrape = Files.readString(dir.resolve("prometheus.yml"));
    JsonNode scrapeConfig =
        new com.fasterxml.jackson.databind.ObjectMapper(
                new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
            .readTree(scrape);
    assertThat(scrapeConfig.path("scrape_configs")).hasSize(2);
    String loadgenAdmin = loadgen.getHostString() + ":15090";
    assertThat(scrape).contains("'" + loadgenAdmin + "'");
    HttpResponse<String> metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://" + loadgenAdmin + "/stats/prometheus"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(
            PrometheusText.sum(
                PrometheusText.parse(metrics.body()),
                "istio_requests_total",
                java.util.Map.of(
                    "reporter", "source",
                    "source_cluster", "east",
                    "destination_service", "payments.shop.svc.cluster.local",
                    "destination_cluster", "west",
                    "destination_workload", "payments-v1",
                    "response_code", "200")))
        .as("the 20 calls above, and the lab's own convergence probes")
        .isGreaterThanOrEqualTo(20);

    theControlPlaneLetsNoStrangerIn(lab, state);

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

  /** What a stranger on the machine meets: every control-plane door is shut without credentials. */
  private void theControlPlaneLetsNoStrangerIn(LocalLab lab, LabState state) throws Exception {
    // xDS: a plaintext client gets nothing, not even a refusal it could read.
    int xdsPort =
        Integer.parseInt(
            state.controllerXds().substring(state.controllerXds().lastIndexOf(':') + 1));
    try (AdsTestClient stranger = new AdsTestClient(xdsPort, "stranger", "east", "us-east", "a")) {
      stranger.subscribe(
          AdsTestClient.EDS, List.of("outbound|8080||payments.shop.svc.cluster.local"));
      await("the plaintext stream fails")
          .atMost(Duration.ofSeconds(10))
          .until(() -> !stranger.streamErrors().isEmpty());
      assertThat(stranger.streamErrors().get(0).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(stranger.responses()).isEmpty();
    }

    // The admin API speaks TLS only, like the rest of the control plane: plain HTTP gets nothing.
    HttpClient http = HttpClient.newHttpClient();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                http.send(
                    HttpRequest.newBuilder(
                            URI.create("http://" + state.controllerAdmin() + "/status"))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
    // Over TLS, /status names every pod address; without the token it says nothing.
    dev.fedmesh.controller.admin.AdminClient anonymous =
        new dev.fedmesh.controller.admin.AdminClient(
            state.controllerAdmin(),
            "",
            java.util.Optional.of(
                dev.fedmesh.controller.admin.AdminClient.roots(
                    LocalLab.adminRoots(dir).orElseThrow())));
    org.assertj.core.api.Assertions.assertThatThrownBy(anonymous::status)
        .hasMessageContaining("HTTP 401")
        .hasMessageNotContaining("127.2.");

    // The fault endpoint: a web page's cross-site POST, even with a guessed path, changes nothing.
    String control =
        LabStatus.JSON
            .readTree(dir.resolve("clusters/west/status.json").toFile())
            .path("control")
            .asText();
    HttpResponse<String> crossSite =
        http.send(
            HttpRequest.newBuilder(URI.create(control + "/agent/stop"))
                .header("Origin", "http://attacker.example")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(crossSite.statusCode()).isEqualTo(403);
    assertThat(crossSite.body()).startsWith("origin: 'http://attacker.example'");
    HttpResponse<String> withoutToken =
        http.send(
            HttpRequest.newBuilder(URI.create(control + "/agent/stop"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(withoutToken.statusCode()).isEqualTo(403);
    assertThat(
            LabStatus.JSON
                .readTree(dir.resolve("clusters/west/status.json").toFile())
                .path("agentRunning")
                .asBoolean())
        .as("west's agent after the refused requests")
        .isTrue();

    // The credentials lab up wrote are the user's alone.
    for (String secret :
        List.of(
            "admin-token",
            "control-token",
            "agents.yaml",
            "ca/controller/key.pem",
            "clusters/west/spec.json")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(secret))))
          .as(secret)
          .isEqualTo("rw-------");
    }
    assertThat(lab.adminClient(state.controllerAdmin()).status().path("clusters")).hasSize(3);
  }
}
