package dev.fedmesh.agent.federation;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.Addresses;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.util.List;

/**
 * A service this cluster imports from the mesh (a Kubernetes MCS ServiceImport), as the controller
 * sent it and {@link ImportsCodec} validated it.
 *
 * @param service namespace and name, the same in every cluster
 * @param ports the union of the ports the exporting clusters declare
 * @param clusters the clusters exporting the service, in name order
 * @param ips what the service's names resolve to in this cluster (IP literals): its local cluster
 *     IPs when the cluster has the Service, else the mesh's virtual address
 * @param virtualAddress the mesh's virtual address for the service, or empty while none is
 *     allocated
 */
public record ImportedService(
    ServiceKey service,
    List<ServicePort> ports,
    List<ClusterName> clusters,
    List<String> ips,
    String virtualAddress) {

  public ImportedService {
    requireNonNull(service, "service");
    ports = List.copyOf(ports);
    clusters = List.copyOf(clusters);
    ips = List.copyOf(ips);
    requireNonNull(virtualAddress, "virtualAddress");
    for (int i = 0; i < ips.size(); i++) {
      if (!Addresses.isIpLiteral(ips.get(i))) {
        throw new IllegalArgumentException(
            "ips[" + i + "]: '" + ips.get(i) + "' (expected: an IPv4 or IPv6 address)");
      }
    }
    if (!virtualAddress.isEmpty() && !Addresses.isIpLiteral(virtualAddress)) {
      throw new IllegalArgumentException(
          "virtualAddress: '" + virtualAddress + "' (expected: an IPv4 or IPv6 address, or empty)");
    }
  }
}
