package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.TreeMap;

/**
 * One instance of a service in one cluster.
 *
 * @param address the pod's IP address
 * @param ports the instance's port for each service port, keyed by service port name
 * @param locality where the instance runs
 * @param health what traffic the instance may take
 * @param labels the pod's labels (subsets select on them)
 * @param serviceAccount the workload's Kubernetes service account, which gives its SPIFFE ID
 * @param weight relative load-balancing weight, at least 1
 * @param pod the pod name, for people reading status
 */
public record Endpoint(
    String address,
    Map<String, Integer> ports,
    Locality locality,
    EndpointHealth health,
    Map<String, String> labels,
    String serviceAccount,
    int weight,
    String pod) {

  public Endpoint {
    requireNonNull(address, "address");
    requireNonNull(locality, "locality");
    requireNonNull(health, "health");
    requireNonNull(serviceAccount, "serviceAccount");
    requireNonNull(pod, "pod");
    if (!Addresses.isIpLiteral(address)) {
      throw new IllegalArgumentException(
          "address: '" + address + "' (expected: an IPv4 or IPv6 address)");
    }
    ports.forEach((name, port) -> Ports.check("ports." + name, port));
    ports = Map.copyOf(new TreeMap<>(ports));
    labels = Map.copyOf(labels);
    if (weight < 1) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: >= 1)");
    }
  }

  /** A healthy endpoint with no labels, weight 1: what tests and simple sources need. */
  public static Endpoint of(String address, Map<String, Integer> ports, Locality locality) {
    return new Endpoint(
        address, ports, locality, EndpointHealth.HEALTHY, Map.of(), "default", 1, "");
  }
}
