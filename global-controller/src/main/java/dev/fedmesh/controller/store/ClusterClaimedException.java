package dev.fedmesh.controller.store;

import dev.fedmesh.model.ClusterName;

/** Another agent identity holds a live session for the cluster; nothing was written. */
public final class ClusterClaimedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ClusterClaimedException(ClusterName cluster, String holder, String claimant) {
    super(
        "cluster "
            + cluster
            + " is held by agent '"
            + holder
            + "' (expected: the same agent identity, got '"
            + claimant
            + "')");
  }
}
