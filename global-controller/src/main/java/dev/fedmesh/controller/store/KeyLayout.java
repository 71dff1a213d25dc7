package dev.fedmesh.controller.store;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyKind;
import java.util.Optional;

/**
 * Where the mesh lives in etcd. Everything is under {@code /fedmesh/v1/}:
 *
 * <ul>
 *   <li>{@code clusters/<cluster>}: the cluster as its agent announced it (Hello, as JSON)
 *   <li>{@code sessions/<cluster>}: bound to a lease while an agent is connected; its value names
 *       the session that may write the cluster's keys
 *   <li>{@code endpoints/<cluster>/<namespace>/<service>}: the cluster's shard of a service
 *   <li>{@code policies/<kind plural>/<namespace>/<name>}: a policy document as applied (JSON);
 *       mesh-wide kinds use {@code _} for the namespace
 *   <li>{@code vips/hosts/<host>}: the virtual address allocated to a mesh host (the address as
 *       text), and {@code vips/addresses/<address>}: the host holding that address; both are
 *       written and released together, in one transaction, so an address has at most one host
 * </ul>
 *
 * Sessions sit outside {@code clusters/} so that listing one never returns the other.
 */
public final class KeyLayout {
  public static final String ROOT = "/fedmesh/v1/";
  public static final String CLUSTERS = ROOT + "clusters/";
  public static final String SESSIONS = ROOT + "sessions/";
  public static final String ENDPOINTS = ROOT + "endpoints/";
  public static final String POLICIES = ROOT + "policies/";
  public static final String VIPS = ROOT + "vips/";
  public static final String VIP_HOSTS = VIPS + "hosts/";
  public static final String VIP_ADDRESSES = VIPS + "addresses/";

  /** The namespace segment of mesh-wide policies; no Kubernetes namespace can be named so. */
  public static final String MESH_WIDE = "_";

  private KeyLayout() {}

  public static String cluster(ClusterName cluster) {
    return CLUSTERS + cluster.value();
  }

  public static String session(ClusterName cluster) {
    return SESSIONS + cluster.value();
  }

  public static String endpointsOf(ClusterName cluster) {
    return ENDPOINTS + cluster.value() + "/";
  }

  public static String endpoints(ClusterName cluster, ServiceKey service) {
    return endpointsOf(cluster) + service.namespace() + "/" + service.name();
  }

  public static String policy(PolicyKind kind, String namespace, String name) {
    return POLICIES
        + kind.plural()
        + "/"
        + (namespace.isEmpty() ? MESH_WIDE : namespace)
        + "/"
        + name;
  }

  public static String virtualAddressOf(String host) {
    return VIP_HOSTS + host;
  }

  public static String virtualAddressHolder(String address) {
    return VIP_ADDRESSES + address;
  }

  public static String policy(Policy policy) {
    return policy(policy.kind(), policy.metadata().namespace(), policy.metadata().name());
  }

  /** A key this layout understands, parsed; empty for keys of other kinds or versions. */
  public sealed interface Parsed {}

  public record ClusterKey(ClusterName cluster) implements Parsed {}

  public record SessionKey(ClusterName cluster) implements Parsed {}

  public record EndpointsKey(ClusterName cluster, ServiceKey service) implements Parsed {}

  /**
   * @param namespace empty for mesh-wide kinds
   */
  public record PolicyKey(PolicyKind kind, String namespace, String name) implements Parsed {
    /** The id of the policy stored here, as {@link Policy#id()} gives it. */
    public String id() {
      return kind.kind() + "/" + (namespace.isEmpty() ? "" : namespace + "/") + name;
    }
  }

  /** A host's virtual address; the reverse key ({@code vips/addresses/}) parses to nothing. */
  public record VirtualAddressKey(String host) implements Parsed {}

  public static Optional<Parsed> parse(String key) {
    try {
      if (key.startsWith(VIP_HOSTS)) {
        String host = key.substring(VIP_HOSTS.length());
        return host.isEmpty() || host.contains("/")
            ? Optional.empty()
            : Optional.of(new VirtualAddressKey(host));
      }
      if (key.startsWith(CLUSTERS)) {
        String rest = key.substring(CLUSTERS.length());
        return rest.contains("/")
            ? Optional.empty()
            : Optional.of(new ClusterKey(ClusterName.of(rest)));
      }
      if (key.startsWith(SESSIONS)) {
        String rest = key.substring(SESSIONS.length());
        return rest.contains("/")
            ? Optional.empty()
            : Optional.of(new SessionKey(ClusterName.of(rest)));
      }
      if (key.startsWith(POLICIES)) {
        String[] parts = key.substring(POLICIES.length()).split("/", -1);
        if (parts.length != 3 || parts[2].isEmpty()) {
          return Optional.empty();
        }
        Optional<PolicyKind> kind =
            java.util.Arrays.stream(PolicyKind.values())
                .filter(k -> k.plural().equals(parts[0]))
                .findFirst();
        return kind.map(
            k -> new PolicyKey(k, parts[1].equals(MESH_WIDE) ? "" : parts[1], parts[2]));
      }
      if (key.startsWith(ENDPOINTS)) {
        String[] parts = key.substring(ENDPOINTS.length()).split("/", -1);
        if (parts.length != 3) {
          return Optional.empty();
        }
        return Optional.of(
            new EndpointsKey(ClusterName.of(parts[0]), ServiceKey.of(parts[1], parts[2])));
      }
    } catch (IllegalArgumentException malformed) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
