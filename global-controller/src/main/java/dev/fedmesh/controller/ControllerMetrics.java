package dev.fedmesh.controller;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.DoubleSupplier;

/**
 * The controller's Prometheus metrics, in a registry of its own so that several replicas can run in
 * one JVM (tests, the load harness). Served at {@code /metrics} on the admin port.
 */
public final class ControllerMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();

  /** Responses sent to proxies, by resource type. */
  public final Counter pushes =
      Counter.builder()
          .name("fedmesh_xds_pushes_total")
          .help("xDS responses sent to proxies")
          .labelNames("type")
          .register(registry);

  /** Responses proxies rejected, by resource type. */
  public final Counter nacks =
      Counter.builder()
          .name("fedmesh_xds_nacks_total")
          .help("xDS responses proxies rejected")
          .labelNames("type")
          .register(registry);

  /** Responses larger than clients accept. */
  public final Counter oversizedResponses =
      Counter.builder()
          .name("fedmesh_xds_oversized_responses_total")
          .help("xDS responses over the clients' 4 MiB message limit")
          .register(registry);

  /** Time to generate one proxy group's resources. */
  public final Histogram generationSeconds =
      Histogram.builder()
          .name("fedmesh_config_generation_seconds")
          .help("Time to generate one proxy group's xDS resources")
          .classicExponentialUpperBounds(0.0001, 2, 16)
          .register(registry);

  /** Time from a mesh snapshot to every group's xDS snapshot set in the cache. */
  public final Histogram pushSeconds =
      Histogram.builder()
          .name("fedmesh_xds_push_seconds")
          .help("Time to regenerate and set every proxy group's snapshot for one mesh change")
          .classicExponentialUpperBounds(0.0001, 2, 16)
          .register(registry);

  /** From the controller seeing a change in etcd to every affected proxy acknowledging it. */
  public final Histogram convergenceSeconds =
      Histogram.builder()
          .name("fedmesh_convergence_seconds")
          .help("From a change seen in etcd to its ACK by every affected proxy")
          .classicExponentialUpperBounds(0.001, 2, 16)
          .register(registry);

  /** Agent messages refused. */
  public final Counter federationRefusals =
      Counter.builder()
          .name("fedmesh_federation_refusals_total")
          .help("Agent messages refused for failing validation")
          .register(registry);

  /** 1 while the model follows etcd, 0 while it serves its last state. */
  /** New proxy groups refused because their cluster has as many as it may. */
  public final Counter refusedGroups =
      Counter.builder()
          .name("fedmesh_xds_refused_groups_total")
          .help("ADS streams refused because their cluster reached its proxy group limit")
          .register(registry);

  public final Gauge storeSynced =
      Gauge.builder()
          .name("fedmesh_store_synced")
          .help("1 while the model follows etcd's watch, 0 while it serves its last state")
          .register(registry);

  /** How many revisions etcd is ahead of what the model has applied. */
  public final Gauge watchLagRevisions =
      Gauge.builder()
          .name("fedmesh_store_watch_lag_revisions")
          .help("etcd's current revision minus the newest revision the model has applied")
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
