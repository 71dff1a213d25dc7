package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterInfo;
import java.time.Instant;

/**
 * A member cluster as the controller sees it.
 *
 * @param info what its agent announced
 * @param liveness how current its endpoints are
 * @param since when the cluster entered that liveness (as this replica observed it)
 */
public record ClusterState(ClusterInfo info, Liveness liveness, Instant since) {
  public ClusterState {
    requireNonNull(info, "info");
    requireNonNull(liveness, "liveness");
    requireNonNull(since, "since");
  }

  /** Whether an agent currently holds the cluster's session. */
  public boolean connected() {
    return liveness == Liveness.CONNECTED;
  }
}
