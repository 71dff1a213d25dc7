package dev.fedmesh.controller.federation;

import dev.fedmesh.model.ClusterName;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/** The agents connected to this controller replica, and since when. */
public final class ConnectedAgents {
  private final Clock clock;
  private final Map<ClusterName, Connection> connections = new ConcurrentHashMap<>();

  /**
   * @param stream the stream that holds the cluster; @param since when it connected
   */
  private record Connection(Object stream, Instant since) {}

  public ConnectedAgents(Clock clock) {
    this.clock = clock;
  }

  void connected(ClusterName cluster, Object stream) {
    connections.put(cluster, new Connection(stream, clock.instant()));
  }

  /**
   * Forgets the cluster only if {@code stream} still holds it: a newer stream may have taken it.
   */
  void disconnected(ClusterName cluster, Object stream) {
    connections.computeIfPresent(
        cluster, (name, connection) -> connection.stream() == stream ? null : connection);
  }

  private final Map<ClusterName, java.util.Deque<String>> refusals = new ConcurrentHashMap<>();

  /** Notes what this replica refused of a cluster's messages (the last 20 are kept). */
  void refused(ClusterName cluster, String reason) {
    java.util.Deque<String> kept =
        refusals.computeIfAbsent(
            cluster, name -> new java.util.concurrent.ConcurrentLinkedDeque<>());
    kept.addLast(reason);
    while (kept.size() > 20) {
      kept.pollFirst();
    }
  }

  /** What this replica refused of each cluster's messages, oldest first, sorted by cluster. */
  public Map<ClusterName, java.util.List<String>> refusals() {
    Map<ClusterName, java.util.List<String>> result = new TreeMap<>();
    refusals.forEach((cluster, reasons) -> result.put(cluster, java.util.List.copyOf(reasons)));
    return result;
  }

  /** Connected clusters and when each connected, sorted by name. */
  public Map<ClusterName, Instant> snapshot() {
    Map<ClusterName, Instant> result = new TreeMap<>();
    connections.forEach((cluster, connection) -> result.put(cluster, connection.since()));
    return result;
  }
}
