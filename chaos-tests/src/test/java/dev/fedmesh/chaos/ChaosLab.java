package dev.fedmesh.chaos;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.lab.LabProcess;
import dev.fedmesh.lab.LabTraffic;
import dev.fedmesh.lab.LocalLab;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The lab as the chaos tests drive it: real processes, faults injected from outside. */
final class ChaosLab implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  final LocalLab lab;
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();

  private ChaosLab(Path dir, LocalLab.Options options) {
    this.lab = new LocalLab(dir, new PrintStream(output, true, StandardCharsets.UTF_8), options);
  }

  static ChaosLab up(Path dir, LocalLab.Options options) throws IOException {
    ChaosLab chaos = new ChaosLab(dir, options);
    try {
      chaos.lab.up();
    } catch (RuntimeException | IOException e) {
      throw new IllegalStateException("lab up failed:\n" + chaos.output(), e);
    }
    return chaos;
  }

  String output() {
    return output.toString(StandardCharsets.UTF_8);
  }

  Load load(String from, String service, int rps) throws IOException {
    return new Load(LabTraffic.loadgenSidecar(lab.dir(), from), service, rps);
  }

  JsonNode clusterStatus(String cluster) throws IOException {
    return JSON.readTree(
        lab.dir().resolve("clusters").resolve(cluster).resolve("status.json").toFile());
  }

  /**
   * POSTs to a cluster's fault-injection endpoint ({@code agent/stop}, {@code gateway/start}, ...).
   */
  void control(String cluster, String action) throws Exception {
    String base = clusterStatus(cluster).path("control").asText();
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(base + "/" + action))
                    .header("Authorization", "Bearer " + lab.controlToken())
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          action + " on " + cluster + ": " + response.statusCode() + " " + response.body());
    }
  }

  /** kill -9 of one lab process by name (etcd, controller-1, cluster-west, ...). */
  long kill(String process) throws Exception {
    LabProcess target = lab.process(process);
    ProcessHandle handle =
        target.handle().orElseThrow(() -> new IllegalStateException(process + " is not running"));
    long now = System.nanoTime();
    handle.destroyForcibly();
    handle.onExit().get(10, TimeUnit.SECONDS);
    return now;
  }

  /** An admin endpoint of a proxy or the controller, as text. */
  static String get(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /** The load generator's sidecar admin address of a cluster. */
  String loadgenAdmin(String cluster) throws IOException {
    for (JsonNode proxy : clusterStatus(cluster).path("proxies")) {
      if (proxy.path("workload").asText().startsWith("loadgen/")) {
        return "http://" + proxy.path("admin").asText();
      }
    }
    throw new IllegalStateException("no load generator in " + cluster);
  }

  /** Waits until {@code load}'s last answers all come from {@code cluster}. */
  static void awaitLanding(Load load, String cluster, Duration within) {
    await("traffic lands in " + cluster)
        .atMost(within)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> load.lastAnsweredBy(20, cluster));
  }

  /**
   * Waits for steady traffic to {@code cluster}: the last 50 answers all from it and none slower
   * than 250 ms. Faults are injected into a warm mesh, as in production, not into one still making
   * its first connections (whose in-flight requests would exceed any sane retry budget).
   */
  static void awaitSteady(Load load, String cluster) {
    await("steady traffic to " + cluster)
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> load.steady(50, cluster, Duration.ofMillis(250)));
  }

  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    return new InetSocketAddress(
        hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
  }

  @Override
  public void close() throws IOException {
    lab.down();
  }
}
