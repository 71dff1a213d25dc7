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
  private final Map<ClusterName, Instant> since = new ConcurrentHashMap<>();

  public ConnectedAgents(Clock clock) {
    this.clock = clock;
  }

  void connected(ClusterName cluster) {
    since.put(cluster, clock.instant());
  }

  void disconnected(ClusterName cluster) {
    since.remove(cluster);
  }

  /** Connected clusters and when each connected, sorted by name. */
  public Map<ClusterName, Instant> snapshot() {
    return new TreeMap<>(since);
  }
}
