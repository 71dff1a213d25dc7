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
 * <p>A pure function of the mesh snapshot, so every replica sends an agent the same set.
 */
public final class ServiceImportSets {
  private ServiceImportSets() {}

  /** The imports of {@code cluster} in {@code mesh}, in service order. */
  public static ServiceImports of(MeshSnapshot mesh, ClusterName cluster) {
    ServiceImports.Builder imports = ServiceImports.newBuilder();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      List<ServiceEndpoints> exporting = new ArrayList<>();
      for (ServiceEndpoints shard : service.getValue().values()) {
        if (ConfigGenerator.exported(mesh, shard)) {
          exporting.add(shard);
        }
      }
      if (exporting.isEmpty()) {
        continue;
      }
      ServiceKey key = service.getKey();
      String virtualAddress = mesh.virtualAddress(key.fqdn()).orElse("");
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
      ServiceEndpoints local = service.getValue().get(cluster);
      if (local != null && !local.clusterIps().isEmpty()) {
        imported.addAllIps(local.clusterIps());
      } else if (!virtualAddress.isEmpty()) {
        imported.addIps(virtualAddress);
      }
      imports.addServices(imported);
    }
    return imports.build();
  }
}
