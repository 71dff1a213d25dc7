package dev.fedmesh.proxy.http;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy's traffic metrics, in a registry of its own so that many proxies can share a JVM (the
 * lab). Names follow Envoy's where Envoy has one, with a {@code fedmesh_} prefix.
 */
public final class ProxyStats {
  private static final Logger log = LoggerFactory.getLogger(ProxyStats.class);
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final AtomicLong lastRejectionLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

  private final Counter completed =
      Counter.builder()
          .name("fedmesh_upstream_rq_completed_total")
          .help("Requests whose response came back from an upstream, by cluster")
          .labelNames("cluster")
          .register(registry);
  private final Counter retries =
      Counter.builder()
          .name("fedmesh_upstream_rq_retry_total")
          .help("Retries sent, by cluster")
          .labelNames("cluster")
          .register(registry);
  private final Counter budgetExhausted =
      Counter.builder()
          .name("fedmesh_upstream_rq_retry_overflow_total")
          .help("Retries not sent because the retry budget was used up, by cluster")
          .labelNames("cluster")
          .register(registry);
  private final Counter overflow =
      Counter.builder()
          .name("fedmesh_upstream_rq_pending_overflow_total")
          .help("Requests refused by a cluster's circuit breaker")
          .labelNames("cluster")
          .register(registry);
  private final Counter resets =
      Counter.builder()
          .name("fedmesh_upstream_rq_reset_total")
          .help("Responses cut off after they had started, by cluster")
          .labelNames("cluster")
          .register(registry);
  private final Counter tunnels =
      Counter.builder()
          .name("fedmesh_tunnels_total")
          .help("CONNECT tunnels opened, by cluster")
          .labelNames("cluster")
          .register(registry);
  private final Counter localReplies =
      Counter.builder()
          .name("fedmesh_local_replies_total")
          .help("Responses the proxy made itself (no route, no upstream, timeouts, bad requests)")
          .labelNames("code")
          .register(registry);
  private final Counter rejectedConnections =
      Counter.builder()
          .name("fedmesh_downstream_rejected_total")
          .help("Downstream connections or requests refused (malformed, plaintext under STRICT)")
          .register(registry);
  private final Counter rbacDenied =
      Counter.builder()
          .name("fedmesh_rbac_denied_total")
          .help(
              "Requests and connections refused by an RBAC filter (Envoy's rbac.denied), by"
                  + " filter and reason")
          .labelNames("filter", "reason")
          .register(registry);
  private final Counter rbacAudited =
      Counter.builder()
          .name("fedmesh_rbac_audited_total")
          .help("Requests and connections an AUDIT (LOG) or shadow policy matched, by policy")
          .labelNames("policy")
          .register(registry);
  private final AtomicLong lastDenialLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);
  private final Histogram latency =
      Histogram.builder()
          .name("fedmesh_upstream_rq_time_seconds")
          .help("Time from request headers to the end of the response, by cluster")
          .labelNames("cluster")
          .classicExponentialUpperBounds(0.0001, 2, 18)
          .classicOnly()
          .register(registry);

  public PrometheusRegistry registry() {
    return registry;
  }

  void completed(String cluster, long nanos) {
    completed.labelValues(cluster).inc();
    latency.labelValues(cluster).observe(nanos / 1e9);
  }

  void retry(String cluster) {
    retries.labelValues(cluster).inc();
  }

  void retryBudgetExhausted(String cluster) {
    budgetExhausted.labelValues(cluster).inc();
  }

  void overflow(String cluster) {
    overflow.labelValues(cluster).inc();
  }

  void reset(String cluster) {
    resets.labelValues(cluster).inc();
  }

  void tunnel(String cluster) {
    tunnels.labelValues(cluster).inc();
  }

  void localReply(int code) {
    localReplies.labelValues(Integer.toString(code)).inc();
  }

  /** Counts a refusal and logs it, at most once every ten seconds so a flood cannot flood logs. */
  public void rejected(String reason) {
    rejectedConnections.inc();
    long now = System.nanoTime();
    long last = lastRejectionLog.get();
    if (now - last >= LOG_EVERY_NANOS && lastRejectionLog.compareAndSet(last, now)) {
      log.warn("refused downstream: {}", reason);
    }
  }

  private final AtomicLong lastFailureLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

  /**
   * Logs why a request failed for good (after its retries), at most once a second, so that an
   * operator can tell an outage from a policy limit without a flood.
   */
  void failedUpstream(String cluster, String why) {
    long now = System.nanoTime();
    long last = lastFailureLog.get();
    if (now - last >= LOG_EVERY_NANOS / 10 && lastFailureLog.compareAndSet(last, now)) {
      log.warn("request to {} failed: {}", cluster, why);
    }
  }

  /**
   * Counts what authorization decided: a denial with its filter and reason (logged at most once a
   * second with the peer, so a flood cannot flood logs), and every AUDIT / shadow policy matched.
   */
  public void authorized(dev.fedmesh.proxy.authz.Decision decision, String what) {
    for (String policy : decision.audited()) {
      rbacAudited.labelValues(policy).inc();
      log.info("audit: {} matched {}", what, policy);
    }
    if (decision instanceof dev.fedmesh.proxy.authz.Decision.Denied denied) {
      rbacDenied.labelValues(denied.filter(), denied.reason()).inc();
      long now = System.nanoTime();
      long last = lastDenialLog.get();
      if (now - last >= LOG_EVERY_NANOS / 10 && lastDenialLog.compareAndSet(last, now)) {
        log.warn("denied {}: {}", what, denied);
      }
    }
  }

  private final Counter faults =
      Counter.builder()
          .name("fedmesh_fault_injected_total")
          .help(
              "Faults the fault filter injected (Envoy's fault.delays_injected / aborts_injected)")
          .labelNames("kind")
          .register(registry);

  void faultDelayed() {
    faults.labelValues("delay").inc();
  }

  void faultAborted() {
    faults.labelValues("abort").inc();
  }

  /** Faults injected so far, of a kind ({@code delay} or {@code abort}). */
  public long faultsInjected(String kind) {
    return (long) faults.labelValues(kind).get();
  }

  /** Requests and connections refused by RBAC so far. */
  public long rbacDenied() {
    return (long)
        rbacDenied.collect().getDataPoints().stream().mapToDouble(p -> p.getValue()).sum();
  }

  /** Retries sent so far for a cluster (for status pages and tests). */
  public long retries(String cluster) {
    return (long) retries.labelValues(cluster).get();
  }

  public long localReplies(int code) {
    return (long) localReplies.labelValues(Integer.toString(code)).get();
  }

  public long rejectedCount() {
    return (long) rejectedConnections.get();
  }
}
