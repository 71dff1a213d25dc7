package dev.fedmesh.proxy.upstream;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The proxy's upstream clusters, kept in step with the xDS config. A cluster that stays across
 * updates is the same object, so its hosts keep their outlier state, counters and connections; a
 * cluster that leaves the config is dropped.
 */
public final class ClusterManager {
  private final LongSupplier nanoTime;
  private final RandomGenerator random;
  private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();

  public ClusterManager() {
    this(System::nanoTime, RandomGenerator.getDefault());
  }

  public ClusterManager(LongSupplier nanoTime, RandomGenerator random) {
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.random = requireNonNull(random, "random");
  }

  /** Brings the clusters in line with {@code config}; callers serialize their calls. */
  public synchronized void apply(ProxyConfig config) {
    for (Map.Entry<String, Cluster> entry : config.clusters().entrySet()) {
      Cluster cluster = entry.getValue();
      ClusterLoadAssignment endpoints =
          cluster.getType() == Cluster.DiscoveryType.EDS
              ? config.endpointsOf(entry.getKey())
              : cluster.getLoadAssignment();
      clusters
          .computeIfAbsent(entry.getKey(), name -> new UpstreamCluster(name, nanoTime, random))
          .update(cluster, endpoints);
    }
    clusters.keySet().retainAll(config.clusters().keySet());
  }

  public Optional<UpstreamCluster> cluster(String name) {
    return Optional.ofNullable(clusters.get(name));
  }

  /** Every cluster by name, for the admin page. */
  public Map<String, UpstreamCluster> clusters() {
    return Map.copyOf(clusters);
  }
}
