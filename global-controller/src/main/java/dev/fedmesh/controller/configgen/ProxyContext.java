package dev.fedmesh.controller.configgen;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.Locality;

/**
 * What config generation needs to know about a proxy; proxies with equal contexts get identical
 * config and so share one cached snapshot.
 *
 * @param role the kind of xDS client
 * @param cluster the member cluster it runs in, or empty when it runs outside the mesh
 * @param network its network; empty means "reaches every endpoint directly"
 * @param locality where it runs, for locality-aware priorities
 */
public record ProxyContext(ProxyRole role, String cluster, String network, Locality locality) {
  public ProxyContext {
    requireNonNull(role, "role");
    requireNonNull(cluster, "cluster");
    requireNonNull(network, "network");
    requireNonNull(locality, "locality");
  }

  /** A stable string naming the group of proxies that share this context. */
  public String groupKey() {
    return role.metadataValue() + "|" + cluster + "|" + network + "|" + locality;
  }
}
