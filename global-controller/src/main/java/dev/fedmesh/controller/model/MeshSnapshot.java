package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.PolicySet;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The whole mesh at one moment, immutable, shared by every proxy's config generation.
 *
 * @param version increases with every snapshot the model publishes
 * @param revision the etcd revision the snapshot reflects
 * @param clusters member clusters by name
 * @param services every service, with each cluster's shard of it
 * @param failover the order in which regions fail over to other regions, by default (the
 *     controller's flag; a MeshConfig or DestinationRule overrides it)
 * @param policies every policy in force; the same object in consecutive snapshots while none
 *     changes
 * @param changedAtNanos when (on the model's nano clock) the oldest change this snapshot is the
 *     first to carry was seen, or 0 when it carries no change; convergence is measured from it
 * @param virtualAddresses the mesh's virtual address of each host that has one (a service's {@code
 *     <name>.<namespace>.svc.cluster.local}, or a ServiceEntry host), as stored in etcd
 */
public record MeshSnapshot(
    long version,
    long revision,
    SortedMap<ClusterName, ClusterState> clusters,
    SortedMap<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> services,
    FailoverOrder failover,
    PolicySet policies,
    long changedAtNanos,
    SortedMap<String, String> virtualAddresses) {

  public static final MeshSnapshot EMPTY =
      new MeshSnapshot(
          0,
          0,
          Collections.emptySortedMap(),
          Collections.emptySortedMap(),
          FailoverOrder.NONE,
          PolicySet.EMPTY,
          0,
          Collections.emptySortedMap());

  /** A snapshot without virtual addresses. */
  public MeshSnapshot(
      long version,
      long revision,
      SortedMap<ClusterName, ClusterState> clusters,
      SortedMap<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> services,
      FailoverOrder failover,
      PolicySet policies,
      long changedAtNanos) {
    this(
        version,
        revision,
        clusters,
        services,
        failover,
        policies,
        changedAtNanos,
        Collections.emptySortedMap());
  }

  public MeshSnapshot {
    requireNonNull(clusters, "clusters");
    requireNonNull(failover, "failover");
    requireNonNull(policies, "policies");
    requireNonNull(services, "services");
    requireNonNull(virtualAddresses, "virtualAddresses");
    // The model hands over a map it never changes again, the same object while no address
    // changes, so that config generation can tell by identity that none did.
    if (!(virtualAddresses instanceof Frozen)) {
      virtualAddresses = new Frozen(virtualAddresses);
    }
    clusters = Collections.unmodifiableSortedMap(new TreeMap<>(clusters));
    // Each service's shard map is kept as given (the model never changes one once published),
    // so that unchanged services are identical objects from one snapshot to the next.
    TreeMap<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> copy = new TreeMap<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> entry :
        services.entrySet()) {
      if (!entry.getValue().isEmpty()) {
        copy.put(entry.getKey(), entry.getValue());
      }
    }
    services = Collections.unmodifiableSortedMap(copy);
  }

  /** An unmodifiable copy of a host-to-address map. */
  public static final class Frozen extends java.util.AbstractMap<String, String>
      implements SortedMap<String, String> {
    private final SortedMap<String, String> map;

    public Frozen(Map<String, String> map) {
      this.map = Collections.unmodifiableSortedMap(new TreeMap<>(map));
    }

    @Override
    public java.util.Set<Map.Entry<String, String>> entrySet() {
      return map.entrySet();
    }

    @Override
    public String get(Object key) {
      return map.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
      return map.containsKey(key);
    }

    @Override
    public java.util.Comparator<? super String> comparator() {
      return map.comparator();
    }

    @Override
    public SortedMap<String, String> subMap(String fromKey, String toKey) {
      return map.subMap(fromKey, toKey);
    }

    @Override
    public SortedMap<String, String> headMap(String toKey) {
      return map.headMap(toKey);
    }

    @Override
    public SortedMap<String, String> tailMap(String fromKey) {
      return map.tailMap(fromKey);
    }

    @Override
    public String firstKey() {
      return map.firstKey();
    }

    @Override
    public String lastKey() {
      return map.lastKey();
    }
  }

  /** The mesh's virtual address of {@code host}, if one is allocated. */
  public Optional<String> virtualAddress(String host) {
    return Optional.ofNullable(virtualAddresses.get(host));
  }

  public Optional<ClusterState> cluster(ClusterName name) {
    return Optional.ofNullable(clusters.get(name));
  }

  /** Number of endpoints, in any health, that {@code cluster} announces across all services. */
  public int endpointCount(ClusterName cluster) {
    int count = 0;
    for (SortedMap<ClusterName, ServiceEndpoints> shards : services.values()) {
      ServiceEndpoints shard = shards.get(cluster);
      if (shard != null) {
        count += shard.endpoints().size();
      }
    }
    return count;
  }
}
