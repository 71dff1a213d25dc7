package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The complete state of one service in one cluster: the shard of the service that cluster owns.
 *
 * @param cluster the cluster that runs these endpoints
 * @param service which service
 * @param ports the service's ports
 * @param exported whether other clusters may reach it
 * @param endpoints every instance, in any health
 * @param clusterIps the Service's cluster IPs in that cluster (IP literals); empty when headless
 */
public record ServiceEndpoints(
    ClusterName cluster,
    ServiceKey service,
    List<ServicePort> ports,
    boolean exported,
    List<Endpoint> endpoints,
    List<String> clusterIps) {

  /** A service whose cluster IPs are not known (headless, or announced by a file). */
  public ServiceEndpoints(
      ClusterName cluster,
      ServiceKey service,
      List<ServicePort> ports,
      boolean exported,
      List<Endpoint> endpoints) {
    this(cluster, service, ports, exported, endpoints, List.of());
  }

  public ServiceEndpoints {
    requireNonNull(cluster, "cluster");
    requireNonNull(service, "service");
    ports = List.copyOf(ports);
    endpoints = List.copyOf(endpoints);
    clusterIps = List.copyOf(clusterIps);
    for (int i = 0; i < clusterIps.size(); i++) {
      if (!Addresses.isIpLiteral(clusterIps.get(i))) {
        throw new IllegalArgumentException(
            "clusterIps["
                + i
                + "]: '"
                + clusterIps.get(i)
                + "' (expected: an IPv4 or IPv6 address)");
      }
    }
    Set<String> names = new HashSet<>();
    Set<Integer> numbers = new HashSet<>();
    for (ServicePort port : ports) {
      if (!names.add(port.name())) {
        throw new IllegalArgumentException(
            "ports.name: '" + port.name() + "' (expected: unique within the service)");
      }
      if (!numbers.add(port.port())) {
        throw new IllegalArgumentException(
            "ports.port: " + port.port() + " (expected: unique within the service)");
      }
    }
    for (int i = 0; i < endpoints.size(); i++) {
      for (String portName : endpoints.get(i).ports().keySet()) {
        if (!names.contains(portName)) {
          throw new IllegalArgumentException(
              "endpoints["
                  + i
                  + "].ports: '"
                  + portName
                  + "' (expected: one of the service's port names "
                  + names
                  + ")");
        }
      }
    }
  }

  /**
   * The port an endpoint listens on for a service port: its own mapping, else the service port
   * number (Kubernetes' default when targetPort is omitted).
   */
  public static int targetPort(Endpoint endpoint, ServicePort servicePort) {
    return endpoint.ports().getOrDefault(servicePort.name(), servicePort.port());
  }
}
