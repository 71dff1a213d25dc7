package dev.fedmesh.controller.configgen;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.type.v3.Percent;

/**
 * What every outbound cluster and route gets when no policy says otherwise. These defaults are what
 * makes failover work with no policy at all: a dead endpoint, zone or cluster is noticed by the
 * caller's own traffic within a second or two and routed around, and the request that hit it is
 * retried elsewhere.
 */
final class TrafficDefaults {
  private TrafficDefaults() {}

  /**
   * Outlier detection:
   *
   * <ul>
   *   <li>2 consecutive gateway errors (502, 503, 504 and, with {@code
   *       split_external_local_origin_errors}, connect failures and resets) or 5 consecutive 5xx
   *       eject a host: a dead host fails every request, so a short run is enough evidence.
   *   <li>Interval 1 s, base ejection 10 s: a host that came back is tried again soon.
   *   <li>Max ejection 100%: when a whole locality is dead, all its hosts may go, which is what
   *       lets Envoy's priority spill-over move traffic to the next locality. Envoy still does not
   *       eject below its panic threshold without a healthy priority to spill to.
   *   <li>Failure percentage (50% over 5 requests): the form gRPC clients implement, since they
   *       ignore the consecutive-error detectors.
   * </ul>
   */
  static OutlierDetection outlierDetection() {
    return OutlierDetection.newBuilder()
        .setConsecutive5Xx(UInt32Value.of(5))
        .setConsecutiveGatewayFailure(UInt32Value.of(2))
        .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100))
        .setSplitExternalLocalOriginErrors(true)
        .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
        .setEnforcingConsecutiveLocalOriginFailure(UInt32Value.of(100))
        .setInterval(Durations.fromSeconds(1))
        .setBaseEjectionTime(Durations.fromSeconds(10))
        .setMaxEjectionPercent(UInt32Value.of(100))
        .setFailurePercentageThreshold(UInt32Value.of(50))
        .setEnforcingFailurePercentage(UInt32Value.of(100))
        .setFailurePercentageMinimumHosts(UInt32Value.of(1))
        .setFailurePercentageRequestVolume(UInt32Value.of(5))
        .build();
  }

  /**
   * Circuit breakers high enough never to limit normal traffic (Envoy's own defaults of 1024
   * would), with a retry budget instead of a fixed retry cap: retries may add at most 20% to the
   * requests in flight, so an outage is not multiplied by retries; but at least 32 at a time,
   * because when a whole cluster dies every request in flight to it is reset at once and each must
   * be able to move to the next region (Envoy's floor of 3 turns a cluster kill into errors).
   */
  static CircuitBreakers circuitBreakers() {
    return CircuitBreakers.newBuilder()
        .addThresholds(
            CircuitBreakers.Thresholds.newBuilder()
                .setPriority(RoutingPriority.DEFAULT)
                .setMaxConnections(UInt32Value.of(100_000))
                .setMaxPendingRequests(UInt32Value.of(100_000))
                .setMaxRequests(UInt32Value.of(100_000))
                .setRetryBudget(
                    CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                        .setBudgetPercent(Percent.newBuilder().setValue(20))
                        .setMinRetryConcurrency(UInt32Value.of(32))))
        .build();
  }

  /**
   * Retries for HTTP routes through proxies: on connect failure, refused stream and reset (the
   * request never reached an application, so retrying is safe for any method), and on gRPC's
   * UNAVAILABLE; two retries, each on a host not tried before.
   */
  static RetryPolicy sidecarRetries() {
    return RetryPolicy.newBuilder()
        .setRetryOn("connect-failure,refused-stream,reset,unavailable")
        .setNumRetries(UInt32Value.of(2))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName("envoy.retry_host_predicates.previous_hosts")
                .setTypedConfig(
                    com.google.protobuf.Any.pack(
                        io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3
                            .PreviousHostsPredicate.getDefaultInstance())))
        .setHostSelectionRetryMaxAttempts(5)
        .build();
  }

  /** Retries for proxyless gRPC clients, which understand retry_on as gRPC status codes only. */
  static RetryPolicy grpcRetries() {
    return RetryPolicy.newBuilder()
        .setRetryOn("unavailable")
        .setNumRetries(UInt32Value.of(2))
        .build();
  }
}
