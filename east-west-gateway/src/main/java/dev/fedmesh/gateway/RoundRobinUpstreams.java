package dev.fedmesh.gateway;

import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Round robin over the healthy endpoints of a cluster's best priority that has any. A stand-in
 * until the sidecar's upstream package (locality weights, outlier detection) is available.
 */
final class RoundRobinUpstreams implements Upstreams {
  private volatile Map<String, List<List<InetSocketAddress>>> priorities = Map.of();
  private final Map<String, AtomicInteger> next = new ConcurrentHashMap<>();

  @Override
  public void apply(ProxyConfig config) {
    Map<String, List<List<InetSocketAddress>>> byCluster = new TreeMap<>();
    for (String cluster : config.clusters().keySet()) {
      ClusterLoadAssignment assignment = config.endpointsOf(cluster);
      if (assignment == null) {
        continue;
      }
      TreeMap<Integer, List<InetSocketAddress>> levels = new TreeMap<>();
      for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
        for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
          if (endpoint.getHealthStatus() != HealthStatus.HEALTHY
              && endpoint.getHealthStatus() != HealthStatus.UNKNOWN) {
            continue;
          }
          var socket = endpoint.getEndpoint().getAddress().getSocketAddress();
          levels
              .computeIfAbsent(locality.getPriority(), p -> new ArrayList<>())
              .add(new InetSocketAddress(socket.getAddress(), socket.getPortValue()));
        }
      }
      byCluster.put(cluster, List.copyOf(levels.values()));
    }
    priorities = Map.copyOf(byCluster);
  }

  @Override
  public Optional<Endpoint> pick(String cluster, Set<InetSocketAddress> tried) {
    for (List<InetSocketAddress> level : priorities.getOrDefault(cluster, List.of())) {
      List<InetSocketAddress> left = level.stream().filter(a -> !tried.contains(a)).toList();
      if (!left.isEmpty()) {
        int n = next.computeIfAbsent(cluster, c -> new AtomicInteger()).getAndIncrement();
        InetSocketAddress address = left.get(Math.floorMod(n, left.size()));
        return Optional.of(new Host(address));
      }
    }
    return Optional.empty();
  }

  private record Host(InetSocketAddress address) implements Endpoint {
    @Override
    public void connected() {}

    @Override
    public void connectFailed() {}

    @Override
    public void closed() {}
  }
}
