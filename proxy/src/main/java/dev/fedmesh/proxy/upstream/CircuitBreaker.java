package dev.fedmesh.proxy.upstream;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cluster's circuit breakers at the default routing priority, with Envoy's defaults (1024
 * connections, pending and requests, 3 retries) and its retry budget: when a budget is set,
 * concurrent retries may be at most {@code budget_percent} of the requests active and pending, but
 * never fewer than {@code min_retry_concurrency}. Every acquire that succeeds must be released.
 */
public final class CircuitBreaker {
  private final int maxConnections;
  private final int maxPending;
  private final int maxRequests;
  private final int maxRetries;
  private final double budgetPercent;
  private final int minRetryConcurrency;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();

  CircuitBreaker(CircuitBreakers config) {
    CircuitBreakers.Thresholds thresholds =
        config.getThresholdsList().stream()
            .filter(t -> t.getPriority() == RoutingPriority.DEFAULT)
            .findFirst()
            .orElse(CircuitBreakers.Thresholds.getDefaultInstance());
    maxConnections =
        thresholds.hasMaxConnections() ? thresholds.getMaxConnections().getValue() : 1024;
    maxPending =
        thresholds.hasMaxPendingRequests() ? thresholds.getMaxPendingRequests().getValue() : 1024;
    maxRequests = thresholds.hasMaxRequests() ? thresholds.getMaxRequests().getValue() : 1024;
    maxRetries = thresholds.hasMaxRetries() ? thresholds.getMaxRetries().getValue() : 3;
    if (thresholds.hasRetryBudget()) {
      var budget = thresholds.getRetryBudget();
      budgetPercent = budget.hasBudgetPercent() ? budget.getBudgetPercent().getValue() : 20.0;
      minRetryConcurrency =
          budget.hasMinRetryConcurrency() ? budget.getMinRetryConcurrency().getValue() : 3;
    } else {
      budgetPercent = -1;
      minRetryConcurrency = 0;
    }
  }

  private static boolean acquire(AtomicInteger counter, int limit) {
    while (true) {
      int now = counter.get();
      if (now >= limit) {
        return false;
      }
      if (counter.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  public boolean tryAcquireConnection() {
    return acquire(connections, maxConnections);
  }

  public void releaseConnection() {
    connections.decrementAndGet();
  }

  public boolean tryAcquirePending() {
    return acquire(pending, maxPending);
  }

  public void releasePending() {
    pending.decrementAndGet();
  }

  public boolean tryAcquireRequest() {
    return acquire(requests, maxRequests);
  }

  public void releaseRequest() {
    requests.decrementAndGet();
  }

  /** A retry may start: within the budget (or the fixed maximum when no budget is set). */
  public boolean tryAcquireRetry() {
    int limit = maxRetries;
    if (budgetPercent >= 0) {
      double allowed = (requests.get() + pending.get()) * budgetPercent / 100.0;
      limit = Math.max(minRetryConcurrency, (int) allowed);
    }
    return acquire(retries, limit);
  }

  public void releaseRetry() {
    retries.decrementAndGet();
  }

  public int activeRequests() {
    return requests.get();
  }

  public int activeRetries() {
    return retries.get();
  }

  public int activeConnections() {
    return connections.get();
  }
}
