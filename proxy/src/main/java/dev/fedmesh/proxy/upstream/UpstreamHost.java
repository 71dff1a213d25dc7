package dev.fedmesh.proxy.upstream;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One endpoint of an upstream cluster. Its identity is its address: when EDS sends an update, a
 * host at the same address keeps its outlier state and counters, so an update never un-ejects a
 * failing host or resets the least-request view.
 */
public final class UpstreamHost {
  private final InetSocketAddress address;

  /** {@link #hostPort()}, made once: the access log prints it for every request. */
  private final String text;

  // Replaced when the cluster's outlier settings change.
  volatile OutlierDetector detector;
  private final AtomicInteger activeRequests = new AtomicInteger();

  // Written under the owning cluster's update lock, read by pickers without it.
  private volatile Locality locality;
  private volatile int priority;
  private volatile int weight;
  private volatile HealthStatus health;

  // Outlier state: guarded by the detector.
  int consecutive5xx;
  int consecutiveGatewayFailures;
  int consecutiveLocalOriginFailures;
  long intervalSuccesses;
  long intervalFailures;
  long ejectedUntilNanos;
  boolean ejected;
  int ejectionCount;
  long totalEjections;

  UpstreamHost(
      InetSocketAddress address,
      Locality locality,
      int priority,
      int weight,
      HealthStatus health,
      OutlierDetector detector) {
    this.address = address;
    this.text = address.getHostString() + ":" + address.getPort();
    this.detector = detector;
    update(locality, priority, weight, health);
  }

  void update(Locality locality, int priority, int weight, HealthStatus health) {
    this.locality = locality;
    this.priority = priority;
    this.weight = Math.max(1, weight);
    this.health = health;
  }

  public InetSocketAddress address() {
    return address;
  }

  public Locality locality() {
    return locality;
  }

  public int priority() {
    return priority;
  }

  public int weight() {
    return weight;
  }

  public HealthStatus health() {
    return health;
  }

  /** Whether EDS says this host may take new requests (UNKNOWN counts as healthy, as in Envoy). */
  public boolean healthyByEds() {
    return health == HealthStatus.HEALTHY || health == HealthStatus.UNKNOWN;
  }

  /** Whether outlier detection has this host out of rotation now. */
  public boolean ejected() {
    return detector.isEjected(this);
  }

  /** How many times outlier detection has ejected this host. */
  public long totalEjections() {
    synchronized (detector) {
      return totalEjections;
    }
  }

  public int activeRequests() {
    return activeRequests.get();
  }

  /** Counts a request starting on this host (for least-request balancing). */
  public void startRequest() {
    activeRequests.incrementAndGet();
  }

  /** Counts a request on this host ending, however it ended. */
  public void endRequest() {
    activeRequests.decrementAndGet();
  }

  /** A request to this host got a response that is not a failure. */
  public void recordSuccess() {
    detector.success(this);
  }

  /** A request to this host failed: feeds outlier detection. */
  public void recordFailure(FailureKind kind) {
    detector.failure(this, kind);
  }

  /** The address as {@code host:port}, as the access log prints it. */
  public String hostPort() {
    return text;
  }

  @Override
  public String toString() {
    return text;
  }
}
