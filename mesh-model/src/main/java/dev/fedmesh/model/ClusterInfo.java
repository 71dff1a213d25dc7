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
 * @param caKeyId lower-case hex Subject Key Identifier of the CA issuing the cluster's workload
 *     certificates; empty when unknown
 */
public record ClusterInfo(
    ClusterName name,
    String network,
    Locality locality,
    List<GatewayAddress> gateways,
    String trustDomain,
    String agentVersion,
    String caKeyId) {

  /** A cluster whose agent does not tell which CA issues its workloads' certificates. */
  public ClusterInfo(
      ClusterName name,
      String network,
      Locality locality,
      List<GatewayAddress> gateways,
      String trustDomain,
      String agentVersion) {
    this(name, network, locality, gateways, trustDomain, agentVersion, "");
  }

  /** This cluster, its workloads' certificates issued by the CA with {@code caKeyId}. */
  public ClusterInfo withCaKeyId(String caKeyId) {
    return new ClusterInfo(name, network, locality, gateways, trustDomain, agentVersion, caKeyId);
  }

  public ClusterInfo {
    requireNonNull(name, "name");
    requireNonNull(network, "network");
    requireNonNull(locality, "locality");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(agentVersion, "agentVersion");
    requireNonNull(caKeyId, "caKeyId");
    if (!caKeyId.isEmpty() && !caKeyId.matches("[0-9a-f]{2,128}")) {
      throw new IllegalArgumentException(
          "caKeyId: '" + caKeyId + "' (expected: lower-case hex of a key identifier)");
    }
    gateways = List.copyOf(gateways);
    if (network.isEmpty()) {
      throw new IllegalArgumentException("network: '' (expected: a network name)");
    }
  }
}
