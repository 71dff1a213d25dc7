package dev.fedmesh.gateway;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The gateway's Prometheus metrics, in a registry of its own so that several gateways can run in
 * one JVM (the lab, tests). Served at {@code /metrics} on the admin port.
 *
 * <p>Only server names the config routes become {@code sni} label values; a refused connection is
 * counted by reason alone, so a client sending random names cannot grow the label set.
 */
public final class GatewayMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();

  /** Connections routed to a server name. */
  final Counter connections =
      Counter.builder()
          .name("fedmesh_gateway_connections_total")
          .help("Connections routed by server name (SNI)")
          .labelNames("sni")
          .register(registry);

  /** Routed connections open now. */
  final Gauge activeConnections =
      Gauge.builder()
          .name("fedmesh_gateway_connections_active")
          .help("Routed connections open now, by server name (SNI)")
          .labelNames("sni")
          .register(registry);

  /** Bytes from clients, forwarded to endpoints. */
  final Counter receivedBytes =
      Counter.builder()
          .name("fedmesh_gateway_received_bytes_total")
          .help("Bytes received from clients and forwarded to endpoints, by server name (SNI)")
          .labelNames("sni")
          .register(registry);

  /** Bytes from endpoints, forwarded to clients. */
  final Counter sentBytes =
      Counter.builder()
          .name("fedmesh_gateway_sent_bytes_total")
          .help("Bytes received from endpoints and sent to clients, by server name (SNI)")
          .labelNames("sni")
          .register(registry);

  /** Connection attempts to endpoints that failed. */
  final Counter upstreamConnectFailures =
      Counter.builder()
          .name("fedmesh_gateway_upstream_connect_failures_total")
          .help("Failed connection attempts to endpoints, by server name (SNI)")
          .labelNames("sni")
          .register(registry);

  /** Connections closed without forwarding anything. */
  final Counter refusedConnections =
      Counter.builder()
          .name("fedmesh_gateway_refused_connections_total")
          .help("Connections closed without forwarding a byte, by reason")
          .labelNames("reason")
          .register(registry);

  /** Whether the gateway runs a config (1) or still waits for one (0). */
  final Gauge configActive =
      Gauge.builder()
          .name("fedmesh_gateway_config_active")
          .help("1 once a config with a listener is active, 0 before")
          .register(registry);

  public GatewayMetrics() {
    for (RefusalReason reason : RefusalReason.values()) {
      refusedConnections.labelValues(reason.label());
    }
  }

  /** Connections refused for {@code reason} so far. */
  public long refused(RefusalReason reason) {
    return (long) refusedConnections.labelValues(reason.label()).get();
  }

  /** Connections routed to {@code sni} so far. */
  public long connections(String sni) {
    return (long) connections.labelValues(sni).get();
  }

  /** Routed connections to {@code sni} open now. */
  public long activeConnections(String sni) {
    return (long) activeConnections.labelValues(sni).get();
  }

  /** Failed connection attempts to endpoints of {@code sni} so far. */
  public long upstreamConnectFailures(String sni) {
    return (long) upstreamConnectFailures.labelValues(sni).get();
  }

  /** Bytes forwarded from clients of {@code sni} so far. */
  public long receivedBytes(String sni) {
    return (long) receivedBytes.labelValues(sni).get();
  }

  /** Bytes forwarded to clients of {@code sni} so far. */
  public long sentBytes(String sni) {
    return (long) sentBytes.labelValues(sni).get();
  }

  /** Writes every metric in Prometheus' text format. */
  public void write(OutputStream out) throws IOException {
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
  }

  public static String contentType() {
    return PrometheusTextFormatWriter.CONTENT_TYPE;
  }
}
