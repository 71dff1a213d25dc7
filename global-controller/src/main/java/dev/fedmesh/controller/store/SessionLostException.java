package dev.fedmesh.controller.store;

import dev.fedmesh.model.ClusterName;

/**
 * The cluster's session is no longer ours: its lease expired or another session took the cluster
 * over. Nothing was written; the agent must reconnect and start a new session.
 */
public final class SessionLostException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SessionLostException(ClusterName cluster) {
    super("session for cluster " + cluster + " is no longer held by this stream");
  }
}
