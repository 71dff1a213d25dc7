package dev.fedmesh.proxy.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.Map;

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
}
