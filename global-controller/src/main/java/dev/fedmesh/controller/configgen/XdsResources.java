package dev.fedmesh.controller.configgen;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The xDS resources of one proxy group, each type keyed and sorted by resource name.
 *
 * @param virtualHosts a sidecar's per-service virtual hosts by name: parts of its one outbound
 *     route configuration, kept apart so that a change to one service rebuilds only its own part
 * @param tcpChains a sidecar's per-service {@code tcp_proxy} filter chains by name: parts of its
 *     outbound listener, matching the service's endpoints by destination, kept apart likewise
 * @param dnsNames the names a DNS-capturing sidecar answers for these resources' hosts, each with
 *     its addresses: parts of its one DNS listener, kept apart likewise
 */
public record XdsResources(
    SortedMap<String, Listener> listeners,
    SortedMap<String, RouteConfiguration> routes,
    SortedMap<String, Cluster> clusters,
    SortedMap<String, ClusterLoadAssignment> endpoints,
    SortedMap<String, VirtualHost> virtualHosts,
    SortedMap<String, FilterChain> tcpChains,
    SortedMap<String, List<String>> dnsNames) {

  public XdsResources {
    listeners = Collections.unmodifiableSortedMap(new TreeMap<>(listeners));
    routes = Collections.unmodifiableSortedMap(new TreeMap<>(routes));
    clusters = Collections.unmodifiableSortedMap(new TreeMap<>(clusters));
    endpoints = Collections.unmodifiableSortedMap(new TreeMap<>(endpoints));
    virtualHosts = Collections.unmodifiableSortedMap(new TreeMap<>(virtualHosts));
    tcpChains = Collections.unmodifiableSortedMap(new TreeMap<>(tcpChains));
    dnsNames = Collections.unmodifiableSortedMap(new TreeMap<>(dnsNames));
  }

  public XdsResources(
      SortedMap<String, Listener> listeners,
      SortedMap<String, RouteConfiguration> routes,
      SortedMap<String, Cluster> clusters,
      SortedMap<String, ClusterLoadAssignment> endpoints,
      SortedMap<String, VirtualHost> virtualHosts,
      SortedMap<String, FilterChain> tcpChains) {
    this(listeners, routes, clusters, endpoints, virtualHosts, tcpChains, new TreeMap<>());
  }

  public XdsResources(
      SortedMap<String, Listener> listeners,
      SortedMap<String, RouteConfiguration> routes,
      SortedMap<String, Cluster> clusters,
      SortedMap<String, ClusterLoadAssignment> endpoints,
      SortedMap<String, VirtualHost> virtualHosts) {
    this(listeners, routes, clusters, endpoints, virtualHosts, new TreeMap<>());
  }

  public XdsResources(
      SortedMap<String, Listener> listeners,
      SortedMap<String, RouteConfiguration> routes,
      SortedMap<String, Cluster> clusters,
      SortedMap<String, ClusterLoadAssignment> endpoints) {
    this(listeners, routes, clusters, endpoints, new TreeMap<>());
  }
}
