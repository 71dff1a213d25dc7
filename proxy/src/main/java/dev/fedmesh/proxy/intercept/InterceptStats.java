package dev.fedmesh.proxy.intercept;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What the capture listeners did with each connection, in the proxy's registry: {@code
 * fedmesh_intercepted_connections_total{direction, action}}. Actions: {@code http} (routed by
 * host), {@code tcp_proxy} (a service's cluster by destination), {@code tls_proxy} (a
 * ServiceEntry's cluster by TLS server name), {@code passthrough} (to the original destination),
 * {@code blackhole} (closed: REGISTRY_ONLY or no host), {@code explicit} (made to the listener
 * itself: the explicit-proxy mode), {@code inbound} (a declared port), {@code failed} (the upstream
 * could not be reached).
 */
public final class InterceptStats {
  private final Counter connections;

  public InterceptStats(PrometheusRegistry registry) {
    connections =
        Counter.builder()
            .name("fedmesh_intercepted_connections_total")
            .help("Connections the capture listeners took, by direction and what became of them")
            .labelNames("direction", "action")
            .register(registry);
  }

  void outbound(String action) {
    connections.labelValues("outbound", action).inc();
  }

  void inbound(String action) {
    connections.labelValues("inbound", action).inc();
  }

  /** Connections counted for {@code direction} and {@code action} so far. */
  public long count(String direction, String action) {
    return (long) connections.labelValues(direction, action).get();
  }
}
