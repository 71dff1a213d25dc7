package dev.fedmesh.agent.federation;

import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.model.Addresses;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the controller's {@code ServiceImports} message, validating each entry on its own: an
 * invalid entry is left out with a finding listing every bad field ({@code
 * imports.services[2].ips[0]: 'x' (expected: an IPv4 or IPv6 address)}), and the rest is used.
 */
public final class ImportsCodec {
  private ImportsCodec() {}

  public static ServiceImportSet decode(ServiceImports message) {
    Map<ServiceKey, ImportedService> services = new TreeMap<>();
    Set<ServiceKey> invalid = new HashSet<>();
    List<Finding> findings = new ArrayList<>();
    for (int i = 0; i < message.getServicesCount(); i++) {
      var entry = message.getServices(i);
      String prefix = "imports.services[" + i + "].";
      List<String> problems = new ArrayList<>();
      ServiceKey key = null;
      try {
        key = ServiceKey.of(entry.getNamespace(), entry.getName());
      } catch (IllegalArgumentException e) {
        problems.add(prefix + e.getMessage());
      }
      if (key != null && (services.containsKey(key) || invalid.contains(key))) {
        problems.add(
            "imports.services["
                + i
                + "]: '"
                + key
                + "' listed again (expected: each service once; only its first entry counts)");
        findings.add(finding(entry.getNamespace(), entry.getName(), problems));
        continue;
      }
      List<ServicePort> ports = ports(entry.getPortsList(), prefix, problems);
      List<ClusterName> clusters = new ArrayList<>();
      for (int k = 0; k < entry.getClustersCount(); k++) {
        String cluster = entry.getClusters(k);
        try {
          clusters.add(ClusterName.of(cluster));
        } catch (IllegalArgumentException e) {
          problems.add(
              prefix
                  + "clusters["
                  + k
                  + "]: '"
                  + cluster
                  + "' (expected: a cluster name, a DNS label)");
        }
      }
      for (int k = 0; k < entry.getIpsCount(); k++) {
        if (!Addresses.isIpLiteral(entry.getIps(k))) {
          problems.add(
              prefix
                  + "ips["
                  + k
                  + "]: '"
                  + entry.getIps(k)
                  + "' (expected: an IPv4 or IPv6 address)");
        }
      }
      String virtualAddress = entry.getVirtualAddress();
      if (!virtualAddress.isEmpty() && !Addresses.isIpLiteral(virtualAddress)) {
        problems.add(
            prefix
                + "virtual_address: '"
                + virtualAddress
                + "' (expected: an IPv4 or IPv6 address, or empty)");
      }
      if (!problems.isEmpty()) {
        if (key != null) {
          invalid.add(key);
        }
        findings.add(finding(entry.getNamespace(), entry.getName(), problems));
        continue;
      }
      services.put(
          key, new ImportedService(key, ports, clusters, entry.getIpsList(), virtualAddress));
    }
    return new ServiceImportSet(List.copyOf(services.values()), invalid, findings);
  }

  private static List<ServicePort> ports(
      List<dev.fedmesh.federation.v1.ServicePort> declared, String prefix, List<String> problems) {
    List<ServicePort> ports = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int j = 0; j < declared.size(); j++) {
      var port = declared.get(j);
      String at = prefix + "ports[" + j + "].";
      if (port.getProtocol() == dev.fedmesh.federation.v1.Protocol.UNRECOGNIZED) {
        problems.add(at + "protocol: " + port.getProtocolValue() + " (expected: a known protocol)");
        continue;
      }
      if (!names.add(port.getName())) {
        problems.add(
            at + "name: '" + port.getName() + "' (expected: unique among the service's ports)");
        continue;
      }
      Protocol protocol =
          port.getProtocol() == dev.fedmesh.federation.v1.Protocol.PROTOCOL_UNSPECIFIED
              ? Protocol.TCP
              : Protocol.valueOf(port.getProtocol().name());
      try {
        ports.add(new ServicePort(port.getName(), port.getPort(), protocol));
      } catch (IllegalArgumentException e) {
        problems.add(at + e.getMessage());
      }
    }
    return ports;
  }

  private static Finding finding(String namespace, String name, List<String> problems) {
    return new Finding(
        Finding.IMPORT_INVALID,
        namespace,
        name,
        0,
        "the controller's entry for this service cannot be used, so its ServiceImport is neither"
            + " made nor changed: "
            + String.join("; ", problems));
  }
}
