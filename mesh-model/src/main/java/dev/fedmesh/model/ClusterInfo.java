package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A member cluster as its agent announced it.
 *
 * @param name the cluster's unique name
 * @param network clusters on one network reach each other's pods directly; others go through {@code
 *     gateways}
 * @param locality the cluster's default locality, for endpoints whose node says nothing
 * @param gateways where other networks reach this cluster's exported services
 * @param trustDomain the SPIFFE trust domain of the cluster's workloads
 * @param agentVersion the agent's build, for status
 */
public record ClusterInfo(
    ClusterName name,
    String network,
    Locality locality,
    List<GatewayAddress> gateways,
    String trustDomain,
    String agentVersion) {

  public ClusterInfo {
    requireNonNull(name, "name");
    requireNonNull(network, "network");
    requireNonNull(locality, "locality");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(agentVersion, "agentVersion");
    gateways = List.copyOf(gateways);
    if (network.isEmpty()) {
      throw new IllegalArgumentException("network: '' (expected: a network name)");
    }
  }
}
