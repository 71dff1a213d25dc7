package dev.fedmesh.lab;

import static org.awaitility.Awaitility.await;

import dev.fedmesh.gateway.GatewayMain;
import dev.fedmesh.testkit.FreePorts;
import dev.fedmesh.testkit.JavaProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A cluster's east-west gateway as an OS process of its own ({@link GatewayMain}), so that a test
 * can {@code kill -9} it; its metrics are read from its admin port.
 */
final class GatewayProcess implements AutoCloseable {
  private final JavaProcess process;
  private final InetSocketAddress address;
  private final InetSocketAddress admin;
  private final HttpClient http = HttpClient.newHttpClient();

  private GatewayProcess(JavaProcess process, InetSocketAddress address, InetSocketAddress admin) {
    this.process = process;
    this.address = address;
    this.admin = admin;
  }

  /** Starts the gateway of {@code cluster} (its network has the cluster's name) on {@code host}. */
  static GatewayProcess start(
      Path logDir, String controller, String cluster, String region, String zone, String host) {
    InetSocketAddress listen = new InetSocketAddress(host, FreePorts.next(host));
    InetSocketAddress admin = new InetSocketAddress(host, FreePorts.next(host));
    JavaProcess process =
        JavaProcess.start(
            "gateway-" + cluster,
            logDir,
            GatewayMain.class.getName(),
            List.of(
                "--controller",
                controller,
                "--cluster",
                cluster,
                "--network",
                cluster,
                "--region",
                region,
                "--zone",
                zone,
                "--listen",
                host + ":" + listen.getPort(),
                "--admin",
                host + ":" + admin.getPort(),
                "--node-id",
                "gateway-" + cluster,
                "--drain-timeout",
                "0s",
                "--insecure-controller"));
    return new GatewayProcess(process, listen, admin);
  }

  /** Where the gateway accepts connections from other networks. */
  InetSocketAddress address() {
    return address;
  }

  JavaProcess process() {
    return process;
  }

  /** Waits for {@code /ready}: a config with a listener is active. */
  void awaitReady(Duration atMost) {
    await("gateway " + process.name() + " ready")
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              if (!process.isAlive()) {
                throw new IllegalStateException(process.name() + " exited:\n" + process.logTail());
              }
              try {
                return get("/ready").statusCode() == 200;
              } catch (IOException e) {
                return false; // not listening yet
              }
            });
  }

  /** The admin's {@code /config_dump}. */
  String configDump() throws IOException, InterruptedException {
    return get("/config_dump").body();
  }

  /** {@code fedmesh_gateway_connections_total{sni}}. */
  long connections(String sni) throws IOException, InterruptedException {
    return metric("fedmesh_gateway_connections_total", "sni", sni);
  }

  /** {@code fedmesh_gateway_received_bytes_total{sni}}: bytes from clients to endpoints. */
  long receivedBytes(String sni) throws IOException, InterruptedException {
    return metric("fedmesh_gateway_received_bytes_total", "sni", sni);
  }

  /** {@code fedmesh_gateway_refused_connections_total{reason}}. */
  long refused(String reason) throws IOException, InterruptedException {
    return metric("fedmesh_gateway_refused_connections_total", "reason", reason);
  }

  /** A counter of one label value from {@code /metrics}; 0 when it has no sample yet. */
  private long metric(String name, String label, String value)
      throws IOException, InterruptedException {
    Matcher sample =
        Pattern.compile(
                "(?m)^"
                    + Pattern.quote(name + "{" + label + "=\"" + value + "\"}")
                    + " ([0-9.eE+-]+)$")
            .matcher(get("/metrics").body());
    return sample.find() ? (long) Double.parseDouble(sample.group(1)) : 0;
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(
                URI.create("http://" + admin.getHostString() + ":" + admin.getPort() + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** {@code kill -9}, and wait until the process is gone. */
  void kill() {
    process.kill();
  }

  @Override
  public void close() {
    process.close();
  }
}
