package dev.fedmesh.controller.configgen;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.DestinationRule.ClientTls;
import dev.fedmesh.model.policy.DestinationRule.ConnectionPool;
import dev.fedmesh.model.policy.DestinationRule.LoadBalancer;
import dev.fedmesh.model.policy.DestinationRule.OutlierDetection;
import dev.fedmesh.model.policy.DestinationRule.PortPolicy;
import dev.fedmesh.model.policy.DestinationRule.TrafficPolicy;
import dev.fedmesh.model.policy.LocalityLbSetting;
import dev.fedmesh.model.policy.MeshConfig;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a DestinationRule says about one port of one subset of a host, merged as Istio merges it
 * (the host's policy, then its port-level settings, then the subset's policy and its port-level
 * settings, each replacing whole settings groups), and how that becomes an Envoy cluster, a route's
 * hash policy and the locality rule of the cluster's endpoints.
 */
record DestinationPolicy(
    Optional<LoadBalancer> loadBalancer,
    Optional<ConnectionPool> connectionPool,
    Optional<OutlierDetection> outlierDetection,
    Optional<ClientTls> tls) {

  static final DestinationPolicy NONE =
      new DestinationPolicy(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

  /** The policy for {@code subset} (empty for the whole host) on {@code port}. */
  static DestinationPolicy of(Optional<DestinationRule> rule, String subset, int port) {
    if (rule.isEmpty()) {
      return NONE;
    }
    DestinationPolicy merged = NONE.with(rule.get().trafficPolicy(), port);
    if (!subset.isEmpty()) {
      Optional<DestinationRule.Subset> found = rule.get().subset(subset);
      if (found.isPresent()) {
        merged = merged.with(found.get().trafficPolicy(), port);
      }
    }
    return merged;
  }

  private DestinationPolicy with(Optional<TrafficPolicy> policy, int port) {
    if (policy.isEmpty()) {
      return this;
    }
    TrafficPolicy p = policy.get();
    DestinationPolicy result =
        new DestinationPolicy(
            p.loadBalancer().or(() -> loadBalancer),
            p.connectionPool().or(() -> connectionPool),
            p.outlierDetection().or(() -> outlierDetection),
            p.tls().or(() -> tls));
    for (PortPolicy portPolicy : p.portLevelSettings()) {
      if (portPolicy.port() == port) {
        result =
            new DestinationPolicy(
                portPolicy.loadBalancer().or(result::loadBalancer),
                portPolicy.connectionPool().or(result::connectionPool),
                portPolicy.outlierDetection().or(result::outlierDetection),
                portPolicy.tls().or(result::tls));
      }
    }
    return result;
  }

  /** Whether traffic to the destination is plain text (tls.mode DISABLE). */
  boolean plaintext() {
    return tls.map(t -> t.mode().equals("DISABLE")).orElse(false);
  }

  /** Applies load balancing, outlier detection and connection limits to an outbound cluster. */
  void applyTo(Cluster.Builder cluster, Optional<MeshConfig> mesh) {
    mesh.flatMap(MeshConfig::connectTimeout)
        .ifPresent(timeout -> cluster.setConnectTimeout(Durations.fromNanos(timeout.toNanos())));
    loadBalancer.ifPresent(lb -> applyLoadBalancer(cluster, lb));
    outlierDetection.ifPresent(od -> applyOutlierDetection(cluster, od));
    connectionPool.ifPresent(pool -> applyConnectionPool(cluster, pool));
  }

  private static void applyLoadBalancer(Cluster.Builder cluster, LoadBalancer lb) {
    lb.simple()
        .ifPresent(
            simple ->
                cluster.setLbPolicy(
                    switch (simple) {
                      case "LEAST_REQUEST" -> Cluster.LbPolicy.LEAST_REQUEST;
                      case "RANDOM" -> Cluster.LbPolicy.RANDOM;
                      default -> Cluster.LbPolicy.ROUND_ROBIN;
                    }));
    lb.consistentHash()
        .ifPresent(
            hash -> {
              if (hash.maglev()) {
                cluster.setLbPolicy(Cluster.LbPolicy.MAGLEV);
                if (hash.tableSize() > 0) {
                  cluster.setMaglevLbConfig(
                      Cluster.MaglevLbConfig.newBuilder()
                          .setTableSize(UInt64Value.of(hash.tableSize())));
                }
              } else {
                cluster.setLbPolicy(Cluster.LbPolicy.RING_HASH);
                if (hash.tableSize() > 0) {
                  cluster.setRingHashLbConfig(
                      Cluster.RingHashLbConfig.newBuilder()
                          .setMinimumRingSize(UInt64Value.of(hash.tableSize())));
                }
              }
            });
  }

  private static void applyOutlierDetection(Cluster.Builder cluster, OutlierDetection od) {
    var outlier = cluster.getOutlierDetection().toBuilder();
    od.consecutive5xxErrors()
        .ifPresent(
            n ->
                outlier
                    .setConsecutive5Xx(UInt32Value.of(n))
                    .setEnforcingConsecutive5Xx(UInt32Value.of(n > 0 ? 100 : 0)));
    od.consecutiveGatewayErrors()
        .ifPresent(
            n ->
                outlier
                    .setConsecutiveGatewayFailure(UInt32Value.of(n))
                    .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(n > 0 ? 100 : 0)));
    od.consecutiveLocalOriginFailures()
        .ifPresent(
            n ->
                outlier
                    .setConsecutiveLocalOriginFailure(UInt32Value.of(n))
                    .setEnforcingConsecutiveLocalOriginFailure(UInt32Value.of(n > 0 ? 100 : 0)));
    od.splitExternalLocalOriginErrors().ifPresent(outlier::setSplitExternalLocalOriginErrors);
    od.interval().ifPresent(d -> outlier.setInterval(Durations.fromNanos(d.toNanos())));
    od.baseEjectionTime()
        .ifPresent(d -> outlier.setBaseEjectionTime(Durations.fromNanos(d.toNanos())));
    od.maxEjectionPercent().ifPresent(n -> outlier.setMaxEjectionPercent(UInt32Value.of(n)));
    cluster.setOutlierDetection(outlier);
    // Istio's minHealthPercent is Envoy's panic threshold.
    od.minHealthPercent()
        .ifPresent(
            n ->
                cluster.setCommonLbConfig(
                    cluster.getCommonLbConfig().toBuilder()
                        .setHealthyPanicThreshold(
                            io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(n))));
  }

  private static void applyConnectionPool(Cluster.Builder cluster, ConnectionPool pool) {
    pool.connectTimeout()
        .ifPresent(d -> cluster.setConnectTimeout(Durations.fromNanos(d.toNanos())));
    CircuitBreakers.Thresholds.Builder thresholds =
        cluster.getCircuitBreakers().getThresholds(0).toBuilder();
    pool.maxConnections().ifPresent(n -> thresholds.setMaxConnections(UInt32Value.of(n)));
    pool.http1MaxPendingRequests()
        .ifPresent(n -> thresholds.setMaxPendingRequests(UInt32Value.of(n)));
    pool.http2MaxRequests().ifPresent(n -> thresholds.setMaxRequests(UInt32Value.of(n)));
    pool.maxRetries()
        .ifPresent(
            n -> {
              // A fixed cap replaces the retry budget (Envoy ignores max_retries under a budget).
              thresholds.clearRetryBudget().setMaxRetries(UInt32Value.of(n));
            });
    cluster.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(thresholds));
  }

  /** The route's hash policy for a consistent-hash destination; empty otherwise. */
  List<RouteAction.HashPolicy> hashPolicies() {
    List<RouteAction.HashPolicy> policies = new ArrayList<>();
    loadBalancer
        .flatMap(LoadBalancer::consistentHash)
        .ifPresent(
            hash -> {
              RouteAction.HashPolicy.Builder policy = RouteAction.HashPolicy.newBuilder();
              if (!hash.httpHeaderName().isEmpty()) {
                policy.setHeader(
                    RouteAction.HashPolicy.Header.newBuilder()
                        .setHeaderName(hash.httpHeaderName()));
              } else if (!hash.httpQueryParameterName().isEmpty()) {
                policy.setQueryParameter(
                    RouteAction.HashPolicy.QueryParameter.newBuilder()
                        .setName(hash.httpQueryParameterName()));
              } else if (hash.useSourceIp()) {
                policy.setConnectionProperties(
                    RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
              } else if (!hash.httpCookieName().isEmpty()) {
                policy.setCookie(
                    RouteAction.HashPolicy.Cookie.newBuilder().setName(hash.httpCookieName()));
              }
              policies.add(policy.build());
            });
    return policies;
  }

  /**
   * The locality rule of the destination's endpoints: the DestinationRule's {@code
   * localityLbSetting}, else the MeshConfig's, else the controller's {@code --region-failover}.
   */
  LocalityRule localityRule(MeshSnapshot mesh) {
    Optional<LocalityLbSetting> setting =
        loadBalancer
            .flatMap(LoadBalancer::localityLbSetting)
            .or(() -> mesh.policies().meshConfig().flatMap(MeshConfig::localityLbSetting));
    if (setting.isEmpty()) {
      return LocalityRule.failover(mesh.failover());
    }
    LocalityLbSetting s = setting.get();
    if (!s.enabled()) {
      return LocalityRule.DISABLED;
    }
    Map<String, List<String>> order = new LinkedHashMap<>();
    for (LocalityLbSetting.Failover failover : s.failover()) {
      List<String> to = order.computeIfAbsent(failover.from(), from -> new ArrayList<>());
      if (!to.contains(failover.to())) {
        to.add(failover.to());
      }
    }
    // With failoverPriority, the controller's default region order does not apply (Istio's labels
    // decide alone); a failover list given beside it still does.
    FailoverOrder failover =
        !s.failover().isEmpty()
            ? new FailoverOrder(order)
            : s.failoverPriority().isEmpty() ? mesh.failover() : FailoverOrder.NONE;
    return new LocalityRule(true, failover, s.failoverPriority(), s.distribute());
  }
}
