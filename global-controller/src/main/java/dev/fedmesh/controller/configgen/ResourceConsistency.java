package dev.fedmesh.controller.configgen;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks that a proxy's resources reference each other completely: every RDS name a listener uses
 * has a route configuration, every cluster a route names exists, every EDS cluster has its load
 * assignment, and nothing is left over. java-control-plane's {@code ensureConsistent()} checks the
 * same for listeners with filter chains but does not look inside API listeners (the form gRPC
 * clients use), so we check both forms ourselves.
 */
public final class ResourceConsistency {
  private ResourceConsistency() {}

  /** Every inconsistency, each naming the resource; empty when the resources are consistent. */
  public static List<String> problems(XdsResources resources) {
    return problems(resources, cluster -> false);
  }

  /**
   * As {@link #problems(XdsResources)}, where routes may also name the clusters {@code external}
   * accepts, which other resources (of another service) provide.
   */
  public static List<String> problems(
      XdsResources resources, java.util.function.Predicate<String> external) {
    List<String> problems = new ArrayList<>();
    Set<String> referencedRoutes = new TreeSet<>();
    for (Listener listener : resources.listeners().values()) {
      if (listener.hasApiListener()) {
        addRds(
            listener.getName(),
            listener.getApiListener().getApiListener(),
            referencedRoutes,
            problems);
      }
      for (FilterChain chain : listener.getFilterChainsList()) {
        for (Filter filter : chain.getFiltersList()) {
          if (filter.hasTypedConfig() && filter.getTypedConfig().is(HttpConnectionManager.class)) {
            addRds(listener.getName(), filter.getTypedConfig(), referencedRoutes, problems);
          }
        }
      }
    }
    for (String route : referencedRoutes) {
      if (!resources.routes().containsKey(route)) {
        problems.add("route configuration '" + route + "': referenced by a listener, missing");
      }
    }
    for (String route : resources.routes().keySet()) {
      if (!referencedRoutes.contains(route)) {
        problems.add("route configuration '" + route + "': not referenced by any listener");
      }
    }
    for (RouteConfiguration configuration : resources.routes().values()) {
      for (VirtualHost host : configuration.getVirtualHostsList()) {
        for (Route route : host.getRoutesList()) {
          for (String cluster : clustersOf(route)) {
            if (!resources.clusters().containsKey(cluster) && !external.test(cluster)) {
              problems.add(
                  "route configuration '"
                      + configuration.getName()
                      + "': cluster '"
                      + cluster
                      + "' does not exist");
            }
          }
        }
      }
    }
    for (Cluster cluster : resources.clusters().values()) {
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        String name =
            cluster.getEdsClusterConfig().getServiceName().isEmpty()
                ? cluster.getName()
                : cluster.getEdsClusterConfig().getServiceName();
        if (!resources.endpoints().containsKey(name)) {
          problems.add("cluster '" + cluster.getName() + "': no load assignment '" + name + "'");
        }
      }
    }
    return problems;
  }

  private static void addRds(
      String listener, com.google.protobuf.Any config, Set<String> routes, List<String> problems) {
    try {
      HttpConnectionManager manager = config.unpack(HttpConnectionManager.class);
      if (manager.hasRds()) {
        routes.add(manager.getRds().getRouteConfigName());
      }
    } catch (InvalidProtocolBufferException e) {
      problems.add("listener '" + listener + "': HttpConnectionManager does not parse");
    }
  }

  private static List<String> clustersOf(Route route) {
    if (!route.hasRoute()) {
      return List.of();
    }
    if (route.getRoute().hasWeightedClusters()) {
      return route.getRoute().getWeightedClusters().getClustersList().stream()
          .map(WeightedCluster.ClusterWeight::getName)
          .toList();
    }
    return route.getRoute().getCluster().isEmpty()
        ? List.of()
        : List.of(route.getRoute().getCluster());
  }
}
