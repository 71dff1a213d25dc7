package dev.fedmesh.controller.configgen;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.Locality;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What config generation needs to know about a proxy; proxies with equal contexts get identical
 * config and so share one cached snapshot.
 *
 * @param role the kind of xDS client
 * @param cluster the member cluster it runs in, or empty when it runs outside the mesh
 * @param network its network; empty means "reaches every endpoint directly"
 * @param locality where it runs, for locality-aware priorities
 * @param namespace a sidecar's workload namespace (PeerAuthentication and AuthorizationPolicy
 *     select by it); empty for other roles
 * @param labels a sidecar's workload labels (policy selectors match them); empty for other roles
 * @param dnsCapture a sidecar whose pod's DNS queries are redirected to it: it gets a DNS listener
 */
public record ProxyContext(
    ProxyRole role,
    String cluster,
    String network,
    Locality locality,
    String namespace,
    SortedMap<String, String> labels,
    boolean dnsCapture) {
  public ProxyContext {
    requireNonNull(role, "role");
    requireNonNull(cluster, "cluster");
    requireNonNull(network, "network");
    requireNonNull(locality, "locality");
    requireNonNull(namespace, "namespace");
    labels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
  }

  /** A context without DNS capture. */
  public ProxyContext(
      ProxyRole role,
      String cluster,
      String network,
      Locality locality,
      String namespace,
      SortedMap<String, String> labels) {
    this(role, cluster, network, locality, namespace, labels, false);
  }

  /** A context with no workload (gRPC clients, gateways, tests of outbound config). */
  public ProxyContext(ProxyRole role, String cluster, String network, Locality locality) {
    this(role, cluster, network, locality, "", new TreeMap<>());
  }

  /** The same proxy as a workload of {@code namespace} with {@code labels}. */
  public ProxyContext withWorkload(String namespace, Map<String, String> labels) {
    return new ProxyContext(
        role, cluster, network, locality, namespace, new TreeMap<>(labels), dnsCapture);
  }

  /** The same proxy with its DNS captured, or not. */
  public ProxyContext withDnsCapture(boolean dnsCapture) {
    return new ProxyContext(role, cluster, network, locality, namespace, labels, dnsCapture);
  }

  /** A stable string naming the group of proxies that share this context. */
  public String groupKey() {
    String key = role.metadataValue() + "|" + cluster + "|" + network + "|" + locality;
    key = namespace.isEmpty() && labels.isEmpty() ? key : key + "|" + namespace + "|" + labels;
    return dnsCapture ? key + "|dns" : key;
  }
}
