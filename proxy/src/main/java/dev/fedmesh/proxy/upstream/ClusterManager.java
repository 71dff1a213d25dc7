package dev.fedmesh.proxy.upstream;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The proxy's upstream clusters, kept in step with the xDS config. A cluster that stays across
 * updates is the same object, so its hosts keep their outlier state, counters and connections; a
 * cluster that leaves the config is dropped. The hosts of DNS clusters come from lookups on the
 * manager's scheduler, repeated while the cluster stays ({@link DnsEndpoints}).
 */
public final class ClusterManager implements AutoCloseable {
  private final LongSupplier nanoTime;
  private final RandomGenerator random;
  private final HostResolver resolver;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();

  // Guarded by this.
  private final Map<String, DnsEndpoints> dns = new HashMap<>();

  public ClusterManager() {
    this(System::nanoTime, RandomGenerator.getDefault());
  }

  public ClusterManager(LongSupplier nanoTime, RandomGenerator random) {
    this(nanoTime, random, HostResolver.system(), null);
  }

  /**
   * @param resolver looks up the names of DNS clusters
   * @param scheduler runs the lookups (they may block); null for a daemon thread of the manager's
   *     own, started when the first DNS cluster arrives and stopped by {@link #close}
   */
  public ClusterManager(
      LongSupplier nanoTime,
      RandomGenerator random,
      HostResolver resolver,
      ScheduledExecutorService scheduler) {
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.random = requireNonNull(random, "random");
    this.resolver = requireNonNull(resolver, "resolver");
    this.ownsScheduler = scheduler == null;
    this.scheduler =
        scheduler != null
            ? scheduler
            : Executors.newSingleThreadScheduledExecutor(
                runnable -> {
                  Thread thread = new Thread(runnable, "fedmesh-dns");
                  thread.setDaemon(true);
                  return thread;
                });
  }

  /** Brings the clusters in line with {@code config}; callers serialize their calls. */
  public synchronized void apply(ProxyConfig config) {
    for (Map.Entry<String, Cluster> entry : config.clusters().entrySet()) {
      Cluster cluster = entry.getValue();
      UpstreamCluster target =
          clusters.computeIfAbsent(
              entry.getKey(), name -> new UpstreamCluster(name, nanoTime, random));
      if (DnsEndpoints.isDns(cluster)) {
        DnsEndpoints current = dns.get(entry.getKey());
        if (current == null || !current.config().equals(cluster)) {
          Map<String, List<InetAddress>> known = Map.of();
          if (current != null) {
            current.stop();
            known = current.resolved();
          }
          DnsEndpoints next = new DnsEndpoints(cluster, target, resolver, scheduler, this, known);
          dns.put(entry.getKey(), next);
          next.start();
        }
        continue;
      }
      DnsEndpoints previous = dns.remove(entry.getKey());
      if (previous != null) {
        previous.stop();
      }
      ClusterLoadAssignment endpoints =
          cluster.getType() == Cluster.DiscoveryType.EDS
              ? config.endpointsOf(entry.getKey())
              : cluster.getLoadAssignment();
      target.update(cluster, endpoints);
    }
    clusters.keySet().retainAll(config.clusters().keySet());
    dns.entrySet()
        .removeIf(
            entry -> {
              if (config.clusters().containsKey(entry.getKey())) {
                return false;
              }
              entry.getValue().stop();
              return true;
            });
  }

  public Optional<UpstreamCluster> cluster(String name) {
    return Optional.ofNullable(clusters.get(name));
  }

  /** Every cluster by name, for the admin page. */
  public Map<String, UpstreamCluster> clusters() {
    return Map.copyOf(clusters);
  }

  /** Stops every lookup, and the manager's own scheduler. */
  @Override
  public synchronized void close() {
    dns.values().forEach(DnsEndpoints::stop);
    dns.clear();
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
  }
}
