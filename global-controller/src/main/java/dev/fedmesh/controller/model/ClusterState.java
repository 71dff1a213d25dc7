package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterInfo;

/**
 * A member cluster as the controller sees it.
 *
 * @param info what its agent announced
 * @param connected whether an agent currently holds the cluster's session
 */
public record ClusterState(ClusterInfo info, boolean connected) {
  public ClusterState {
    requireNonNull(info, "info");
  }
}
