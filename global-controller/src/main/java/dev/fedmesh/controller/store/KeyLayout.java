package dev.fedmesh.controller.store;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceKey;
import java.util.Optional;

/**
 * Where the mesh lives in etcd. Everything is under {@code /fedmesh/v1/}:
 *
 * <ul>
 *   <li>{@code clusters/<cluster>}: the cluster as its agent announced it (Hello, as JSON)
 *   <li>{@code sessions/<cluster>}: bound to a lease while an agent is connected; its value names
 *       the session that may write the cluster's keys
 *   <li>{@code endpoints/<cluster>/<namespace>/<service>}: the cluster's shard of a service
 * </ul>
 *
 * Sessions sit outside {@code clusters/} so that listing one never returns the other.
 */
public final class KeyLayout {
  public static final String ROOT = "/fedmesh/v1/";
  public static final String CLUSTERS = ROOT + "clusters/";
  public static final String SESSIONS = ROOT + "sessions/";
  public static final String ENDPOINTS = ROOT + "endpoints/";

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

  /** A key this layout understands, parsed; empty for keys of other kinds or versions. */
  public sealed interface Parsed {}

  public record ClusterKey(ClusterName cluster) implements Parsed {}

  public record SessionKey(ClusterName cluster) implements Parsed {}

  public record EndpointsKey(ClusterName cluster, ServiceKey service) implements Parsed {}

  public static Optional<Parsed> parse(String key) {
    try {
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
