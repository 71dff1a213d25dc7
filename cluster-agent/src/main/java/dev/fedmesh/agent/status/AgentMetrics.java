package dev.fedmesh.agent.status;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.DoubleSupplier;

/**
 * An agent's Prometheus metrics, in a registry of its own so that several agents can run in one JVM
 * (tests, the lab). Served at {@code /metrics} on the agent's status port.
 */
public final class AgentMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();

  /** Complete states the endpoint source delivered. */
  public final Counter sourceUpdates =
      Counter.builder()
          .name("fedmesh_agent_source_updates_total")
          .help("Complete states of the cluster's services delivered by the endpoint source")
          .register(registry);

  /** Admission reviews the sidecar injector answered, by outcome. */
  public final Counter injections =
      Counter.builder()
          .name("fedmesh_agent_injections_total")
          .help("Pod admission reviews answered by the sidecar injector, by outcome")
          .labelNames("outcome")
          .register(registry);

  /** Registers a gauge read when scraped. */
  public void gauge(String name, String help, DoubleSupplier value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(callback -> callback.call(value.getAsDouble()))
        .register(registry);
  }

  /** Writes every metric in Prometheus' text format. */
  public void write(OutputStream out) throws IOException {
    PrometheusTextFormatWriter.create().write(out, registry.scrape());
  }

  public static String contentType() {
    return PrometheusTextFormatWriter.CONTENT_TYPE;
  }
}
