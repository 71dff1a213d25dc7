package dev.fedmesh.proxy.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The config a proxy runs: only resources that are complete by Envoy's warming rules (a cluster
 * with its endpoints, a listener with its routes). Immutable; a new one replaces it on change.
 *
 * @param listeners active listeners by name
 * @param routes route configurations by name
 * @param clusters active clusters by name
 * @param endpoints load assignments by EDS service name
 */
public record ProxyConfig(
    Map<String, Listener> listeners,
    Map<String, RouteConfiguration> routes,
    Map<String, Cluster> clusters,
    Map<String, ClusterLoadAssignment> endpoints) {

  public static final ProxyConfig EMPTY = new ProxyConfig(Map.of(), Map.of(), Map.of(), Map.of());

  public ProxyConfig {
    listeners = Map.copyOf(listeners);
    routes = Map.copyOf(routes);
    clusters = Map.copyOf(clusters);
    endpoints = Map.copyOf(endpoints);
  }

  /** The endpoints of an active cluster, or null. */
  public ClusterLoadAssignment endpointsOf(String clusterName) {
    Cluster cluster = clusters.get(clusterName);
    if (cluster == null) {
      return null;
    }
    return endpoints.get(XdsResourceRules.edsName(cluster));
  }

  /**
   * Every domain of a virtual host that routes at least one request to a cluster with at least one
   * endpoint: the hosts a caller of this proxy can reach now. Readiness checks compare it with the
   * services the mesh announces ("ready means converged", not merely "has some config").
   */
  public Set<String> reachableHosts() {
    Set<String> hosts = new TreeSet<>();
    for (RouteConfiguration routeConfiguration : routes.values()) {
      for (VirtualHost host : routeConfiguration.getVirtualHostsList()) {
        if (host.getRoutesList().stream().anyMatch(this::reachesEndpoints)) {
          hosts.addAll(host.getDomainsList());
        }
      }
    }
    return hosts;
  }

  private boolean reachesEndpoints(Route route) {
    if (!route.hasRoute()) {
      return false;
    }
    List<String> targets =
        route.getRoute().hasWeightedClusters()
            ? route.getRoute().getWeightedClusters().getClustersList().stream()
                .map(WeightedCluster.ClusterWeight::getName)
                .toList()
            : List.of(route.getRoute().getCluster());
    return targets.stream().anyMatch(this::hasEndpoints);
  }

  /**
   * Whether a cluster has endpoints: by EDS, by its own load assignment (STATIC and DNS clusters),
   * or wherever a connection goes (ORIGINAL_DST).
   */
  private boolean hasEndpoints(String clusterName) {
    Cluster cluster = clusters.get(clusterName);
    if (cluster == null) {
      return false;
    }
    if (cluster.getType() == Cluster.DiscoveryType.ORIGINAL_DST) {
      return true;
    }
    ClusterLoadAssignment assignment =
        cluster.getType() == Cluster.DiscoveryType.EDS
            ? endpointsOf(clusterName)
            : cluster.getLoadAssignment();
    return assignment != null
        && assignment.getEndpointsList().stream()
            .anyMatch(locality -> locality.getLbEndpointsCount() > 0);
  }
}
