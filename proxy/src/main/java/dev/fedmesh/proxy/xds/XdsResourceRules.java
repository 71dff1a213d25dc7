package dev.fedmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.fedmesh.proxy.authz.Authorizer;
import dev.fedmesh.proxy.dns.DnsListenerConfig;
import dev.fedmesh.proxy.http.FaultInjection;
import dev.fedmesh.proxy.http.RouteTable;
import dev.fedmesh.proxy.tls.TlsOrigination;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * What the proxy accepts of each xDS resource type, checked one resource at a time so that one bad
 * resource never poisons the rest of a response. Each problem names the resource and field.
 */
final class XdsResourceRules {
  private XdsResourceRules() {}

  /** The EDS resource name of a cluster: its service name, else its own name. */
  static String edsName(Cluster cluster) {
    String serviceName = cluster.getEdsClusterConfig().getServiceName();
    return serviceName.isEmpty() ? cluster.getName() : serviceName;
  }

  static List<String> check(Cluster cluster) {
    List<String> problems = new ArrayList<>();
    String where = "cluster '" + cluster.getName() + "': ";
    if (cluster.getName().isEmpty()) {
      problems.add("cluster '': name (expected: a non-empty name)");
    }
    switch (cluster.getType()) {
      case EDS -> {
        if (!cluster.getEdsClusterConfig().getEdsConfig().hasAds()
            && !cluster.getEdsClusterConfig().getEdsConfig().hasSelf()) {
          problems.add(where + "eds_cluster_config.eds_config (expected: ads or self)");
        }
      }
      case STATIC, STRICT_DNS, LOGICAL_DNS -> {
        if (!cluster.hasLoadAssignment()) {
          problems.add(
              where
                  + "load_assignment: missing (expected: endpoints for a "
                  + cluster.getType()
                  + " cluster)");
        } else {
          problems.addAll(checkEndpoints(where, cluster.getLoadAssignment()));
        }
        if (cluster.getType() != Cluster.DiscoveryType.STATIC) {
          problems.addAll(checkDns(where, cluster));
        }
      }
      case ORIGINAL_DST -> {
        // PassthroughCluster: connections go where they were going; the host is the
        // connection's own original destination, so the load balancer is the cluster's.
        if (cluster.getLbPolicy() != Cluster.LbPolicy.CLUSTER_PROVIDED) {
          problems.add(
              where
                  + "lb_policy: "
                  + cluster.getLbPolicy()
                  + " (expected: CLUSTER_PROVIDED for an ORIGINAL_DST cluster)");
        }
      }
      default ->
          problems.add(
              where
                  + "type: "
                  + cluster.getType()
                  + " (expected: EDS, STATIC, STRICT_DNS, LOGICAL_DNS or ORIGINAL_DST)");
    }
    switch (cluster.getLbPolicy()) {
      case ROUND_ROBIN, LEAST_REQUEST, RANDOM -> {}
      case RING_HASH -> problems.addAll(checkRingHash(where, cluster));
      case MAGLEV -> problems.addAll(checkMaglev(where, cluster));
      case CLUSTER_PROVIDED -> {
        if (cluster.getType() != Cluster.DiscoveryType.ORIGINAL_DST) {
          problems.add(
              where + "lb_policy: CLUSTER_PROVIDED (expected: only for an ORIGINAL_DST cluster)");
        }
      }
      default ->
          problems.add(
              where
                  + "lb_policy: "
                  + cluster.getLbPolicy()
                  + " (expected: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV)");
    }
    if (cluster.hasTransportSocket()
        && cluster.getTransportSocket().getTypedConfig().is(UpstreamTlsContext.class)) {
      try {
        UpstreamTlsContext tls =
            cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        if (TlsOrigination.applies(tls)) {
          for (String problem : TlsOrigination.problems(tls)) {
            problems.add(where + "transport_socket: " + problem);
          }
        }
      } catch (InvalidProtocolBufferException e) {
        problems.add(where + "transport_socket: does not parse (" + e.getMessage() + ")");
      }
    }
    if (cluster.hasOutlierDetection()) {
      var outlier = cluster.getOutlierDetection();
      if (outlier.hasInterval()
          && outlier.getInterval().getSeconds() <= 0
          && outlier.getInterval().getNanos() <= 0) {
        problems.add(
            where + "outlier_detection.interval: " + outlier.getInterval() + " (expected: > 0)");
      }
      if (outlier.hasMaxEjectionPercent() && outlier.getMaxEjectionPercent().getValue() > 100) {
        problems.add(
            where
                + "outlier_detection.max_ejection_percent: "
                + outlier.getMaxEjectionPercent().getValue()
                + " (expected: 0..100)");
      }
    }
    return problems;
  }

  /**
   * Envoy's rules for DNS clusters: a positive refresh rate, one endpoint for LOGICAL_DNS; and
   * fedmesh's: no {@code respect_dns_ttl}, since the JDK's resolver reports no TTL.
   */
  private static List<String> checkDns(String where, Cluster cluster) {
    List<String> problems = new ArrayList<>();
    if (cluster.hasDnsRefreshRate()
        && com.google.protobuf.util.Durations.toMillis(cluster.getDnsRefreshRate()) < 1) {
      problems.add(
          where
              + "dns_refresh_rate: "
              + com.google.protobuf.util.Durations.toString(cluster.getDnsRefreshRate())
              + " (expected: at least 1ms)");
    }
    if (cluster.getRespectDnsTtl()) {
      problems.add(
          where
              + "respect_dns_ttl: true (expected: false; the JDK's resolver reports no TTL, names"
              + " are looked up again every dns_refresh_rate)");
    }
    if (cluster.getType() == Cluster.DiscoveryType.LOGICAL_DNS) {
      long endpoints =
          cluster.getLoadAssignment().getEndpointsList().stream()
              .mapToLong(LocalityLbEndpoints::getLbEndpointsCount)
              .sum();
      if (endpoints != 1) {
        problems.add(
            where
                + "load_assignment: "
                + endpoints
                + " endpoints (expected: one for a LOGICAL_DNS cluster)");
      }
    }
    return problems;
  }

  /** Envoy's limits on a ring: at most 8M entries, and the minimum no more than the maximum. */
  private static List<String> checkRingHash(String where, Cluster cluster) {
    List<String> problems = new ArrayList<>();
    var ring = cluster.getRingHashLbConfig();
    long limit = 8L * 1024 * 1024;
    long min = ring.hasMinimumRingSize() ? ring.getMinimumRingSize().getValue() : 1024;
    long max = ring.hasMaximumRingSize() ? ring.getMaximumRingSize().getValue() : limit;
    if (min < 1 || min > limit) {
      problems.add(
          where
              + "ring_hash_lb_config.minimum_ring_size: "
              + min
              + " (expected: 1.."
              + limit
              + ")");
    }
    if (max < 1 || max > limit) {
      problems.add(
          where
              + "ring_hash_lb_config.maximum_ring_size: "
              + max
              + " (expected: 1.."
              + limit
              + ")");
    }
    if (min > max) {
      problems.add(
          where
              + "ring_hash_lb_config.minimum_ring_size: "
              + min
              + " (expected: <= maximum_ring_size "
              + max
              + ")");
    }
    if (ring.getHashFunction()
        != io.envoyproxy.envoy.config.cluster.v3.Cluster.RingHashLbConfig.HashFunction.XX_HASH) {
      problems.add(
          where
              + "ring_hash_lb_config.hash_function: "
              + ring.getHashFunction()
              + " (expected: XX_HASH)");
    }
    return problems;
  }

  /** Envoy's rule for a Maglev table: a prime size below 5000011 (65537 by default). */
  private static List<String> checkMaglev(String where, Cluster cluster) {
    if (!cluster.getMaglevLbConfig().hasTableSize()) {
      return List.of();
    }
    long size = cluster.getMaglevLbConfig().getTableSize().getValue();
    if (size < 2 || size > 5_000_011 || !java.math.BigInteger.valueOf(size).isProbablePrime(30)) {
      return List.of(
          where
              + "maglev_lb_config.table_size: "
              + size
              + " (expected: a prime number up to 5000011)");
    }
    return List.of();
  }

  static List<String> check(ClusterLoadAssignment assignment) {
    return checkEndpoints("endpoints '" + assignment.getClusterName() + "': ", assignment);
  }

  private static List<String> checkEndpoints(String where, ClusterLoadAssignment assignment) {
    List<String> problems = new ArrayList<>();
    TreeSet<Integer> priorities = new TreeSet<>();
    for (int l = 0; l < assignment.getEndpointsCount(); l++) {
      LocalityLbEndpoints locality = assignment.getEndpoints(l);
      priorities.add(locality.getPriority());
      for (int e = 0; e < locality.getLbEndpointsCount(); e++) {
        LbEndpoint endpoint = locality.getLbEndpoints(e);
        var socket = endpoint.getEndpoint().getAddress().getSocketAddress();
        String at = where + "endpoints[" + l + "].lb_endpoints[" + e + "].";
        if (socket.getAddress().isEmpty()) {
          problems.add(at + "address: missing (expected: an IP address)");
        }
        if (socket.getPortValue() < 1 || socket.getPortValue() > 65535) {
          problems.add(at + "port_value: " + socket.getPortValue() + " (expected: 1..65535)");
        }
      }
    }
    // Envoy's rule: priorities start at 0 and leave no gaps.
    int expected = 0;
    for (int priority : priorities) {
      if (priority != expected) {
        problems.add(where + "priorities " + priorities + " (expected: contiguous from 0)");
        break;
      }
      expected++;
    }
    return problems;
  }

  static List<String> check(Listener listener) {
    List<String> problems = new ArrayList<>();
    String where = "listener '" + listener.getName() + "': ";
    if (DnsListenerConfig.concerns(listener)) {
      // The DNS listener has no filter chains; its one listener filter is checked whole.
      for (String problem : DnsListenerConfig.problems(listener)) {
        problems.add(where + problem);
      }
      return problems;
    }
    if (!listener.hasApiListener() && !listener.hasAddress()) {
      problems.add(where + "address: missing (expected: a socket address)");
    }
    for (FilterChain chain : listener.getFilterChainsList()) {
      try {
        Authorizer.ofNetworkFilters(chain.getFiltersList());
      } catch (IllegalArgumentException e) {
        problems.add(where + e.getMessage());
      }
      for (Filter filter : chain.getFiltersList()) {
        if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
          try {
            HttpConnectionManager manager =
                filter.getTypedConfig().unpack(HttpConnectionManager.class);
            if (!manager.hasRds() && !manager.hasRouteConfig()) {
              problems.add(
                  where + "http_connection_manager: no rds and no route_config (expected: one)");
            }
            try {
              Authorizer.ofHttpFilters(manager.getHttpFiltersList());
              dev.fedmesh.proxy.telemetry.AccessLogConfig.of(manager);
              dev.fedmesh.proxy.telemetry.TracingConfig.of(manager);
              for (var httpFilter : manager.getHttpFiltersList()) {
                if (httpFilter
                    .getTypedConfig()
                    .is(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.class)) {
                  FaultInjection.of(httpFilter.getTypedConfig());
                }
              }
            } catch (IllegalArgumentException e) {
              problems.add(where + "http_connection_manager: " + e.getMessage());
            }
          } catch (InvalidProtocolBufferException e) {
            problems.add(
                where + "http_connection_manager: does not parse (" + e.getMessage() + ")");
          }
        }
      }
    }
    return problems;
  }

  static List<String> check(RouteConfiguration routes) {
    List<String> problems = new ArrayList<>();
    String where = "route configuration '" + routes.getName() + "': ";
    TreeSet<String> domains = new TreeSet<>();
    for (VirtualHost host : routes.getVirtualHostsList()) {
      for (String domain : host.getDomainsList()) {
        if (!domains.add(domain)) {
          problems.add(
              where + "domain '" + domain + "' in two virtual hosts (expected: each domain once)");
        }
      }
    }
    // Everything a route decides (matchers, rewrites, redirects, header mutations, hash
    // policies, retries, faults) is checked by compiling it as the proxy will run it.
    for (String problem : RouteTable.problems(routes)) {
      problems.add(where + problem);
    }
    return problems;
  }

  /** The route configuration names a listener's HTTP connection managers take from RDS. */
  static List<String> rdsNames(Listener listener) {
    List<String> names = new ArrayList<>();
    List<Any> managers = new ArrayList<>();
    if (listener.hasApiListener()) {
      managers.add(listener.getApiListener().getApiListener());
    }
    for (FilterChain chain : listener.getFilterChainsList()) {
      for (Filter filter : chain.getFiltersList()) {
        managers.add(filter.getTypedConfig());
      }
    }
    for (Any any : managers) {
      manager(any)
          .filter(HttpConnectionManager::hasRds)
          .ifPresent(m -> names.add(m.getRds().getRouteConfigName()));
    }
    return names;
  }

  private static Optional<HttpConnectionManager> manager(Any any) {
    if (!any.is(HttpConnectionManager.class)) {
      return Optional.empty();
    }
    try {
      return Optional.of(any.unpack(HttpConnectionManager.class));
    } catch (InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }
}
