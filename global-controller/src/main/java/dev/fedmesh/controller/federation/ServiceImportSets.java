package dev.fedmesh.controller.federation;

import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What each member cluster imports (the import side of the Kubernetes Multi-Cluster Services API):
 * every service some cluster exports, with the exporting clusters, the union of their ports, and
 * the addresses the service's names resolve to in the importing cluster, the same answer its
 * sidecars' DNS gives (the local Service's cluster IPs, else the mesh's virtual address).
 *
 * <p>A function of the mesh snapshot, so every replica sends an agent the same set. An instance
 * remembers each service's entry by the identity of its shards: most snapshots change endpoints
 * only, which no import shows, and {@link #update} tells them apart without rebuilding anything.
 * Not thread-safe; the caller serializes.
 */
public final class ServiceImportSets {
  /**
   * One exported service's import entry, without the per-cluster addresses.
   *
   * @param shards the shard map it was made from (by identity)
   * @param virtualAddress the service's virtual address then, or empty
   * @param base the entry without {@code ips}
   * @param clusterIps each shard's cluster IPs, by cluster
   */
  private record Entry(
      Object shards,
      String virtualAddress,
      ImportedService base,
      Map<ClusterName, List<String>> clusterIps) {
    boolean sameImport(Entry other) {
      return other != null && base.equals(other.base) && clusterIps.equals(other.clusterIps);
    }
  }

  private final SortedMap<ServiceKey, Entry> entries = new TreeMap<>();
  private Object policies;
  private Object addresses;

  /**
   * Brings the entries up to {@code mesh}; whether any cluster's import set may have changed (false
   * when only endpoints did).
   */
  public boolean update(MeshSnapshot mesh) {
    boolean first = policies == null;
    boolean everything = mesh.policies() != policies;
    policies = mesh.policies();
    boolean changed = first;
    // The model keeps one address map while no address changes: looked up only when one did.
    boolean addressesChanged = mesh.virtualAddresses() != addresses;
    addresses = mesh.virtualAddresses();
    Map<ServiceKey, Entry> seen = new HashMap<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      ServiceKey key = service.getKey();
      Entry previous = entries.get(key);
      if (!everything
          && !addressesChanged
          && previous != null
          && previous.shards == service.getValue()) {
        seen.put(key, previous);
        continue;
      }
      String virtualAddress = mesh.virtualAddress(key.fqdn()).orElse("");
      if (!everything
          && previous != null
          && previous.shards == service.getValue()
          && previous.virtualAddress.equals(virtualAddress)) {
        seen.put(key, previous);
        continue;
      }
      Entry fresh = entry(mesh, key, service.getValue(), virtualAddress);
      if (fresh != null) {
        seen.put(key, fresh);
      }
      changed |= fresh == null ? previous != null : !fresh.sameImport(previous);
    }
    changed |= !seen.keySet().equals(entries.keySet());
    entries.clear();
    entries.putAll(seen);
    return changed;
  }

  /** The imports of {@code cluster}, in service order, as of the last {@link #update}. */
  public ServiceImports of(ClusterName cluster) {
    ServiceImports.Builder imports = ServiceImports.newBuilder();
    for (Entry entry : entries.values()) {
      ImportedService.Builder imported = entry.base.toBuilder();
      List<String> local = entry.clusterIps.get(cluster);
      if (local != null && !local.isEmpty()) {
        imported.addAllIps(local);
      } else if (!entry.virtualAddress.isEmpty()) {
        imported.addIps(entry.virtualAddress);
      }
      imports.addServices(imported);
    }
    return imports.build();
  }

  /** The imports of {@code cluster} in {@code mesh}, computed afresh. */
  public static ServiceImports of(MeshSnapshot mesh, ClusterName cluster) {
    ServiceImportSets sets = new ServiceImportSets();
    sets.update(mesh);
    return sets.of(cluster);
  }

  /** The entry of an exported service, or null when no cluster exports it. */
  private static Entry entry(
      MeshSnapshot mesh,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards,
      String virtualAddress) {
    List<ServiceEndpoints> exporting = new ArrayList<>();
    Map<ClusterName, List<String>> clusterIps = new HashMap<>();
    for (ServiceEndpoints shard : shards.values()) {
      clusterIps.put(shard.cluster(), shard.clusterIps());
      if (ConfigGenerator.exported(mesh, shard)) {
        exporting.add(shard);
      }
    }
    if (exporting.isEmpty()) {
      return null;
    }
    ImportedService.Builder imported =
        ImportedService.newBuilder()
            .setNamespace(key.namespace())
            .setName(key.name())
            .setVirtualAddress(virtualAddress);
    SortedMap<String, ServicePort> ports = new TreeMap<>();
    for (ServiceEndpoints shard : exporting) {
      imported.addClusters(shard.cluster().value());
      for (ServicePort port : shard.ports()) {
        ports.putIfAbsent(port.name(), port);
      }
    }
    for (ServicePort port : ports.values()) {
      imported.addPorts(
          dev.fedmesh.federation.v1.ServicePort.newBuilder()
              .setName(port.name())
              .setPort(port.port())
              .setProtocol(dev.fedmesh.federation.v1.Protocol.valueOf(port.protocol().name())));
    }
    return new Entry(shards, virtualAddress, imported.build(), Map.copyOf(clusterIps));
  }
}
