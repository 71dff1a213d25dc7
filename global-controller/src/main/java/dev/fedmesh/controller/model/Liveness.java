package dev.fedmesh.controller.model;

/**
 * How much the mesh trusts a cluster's endpoints, from how long ago its agent was last connected.
 * Detecting a dead workload fast is the data plane's job (outlier detection, retries); liveness
 * only handles a cluster whose agent has been gone long enough that its view is stale.
 */
public enum Liveness {
  /** An agent holds the cluster's session. */
  CONNECTED,
  /** The session lapsed less than the grace period ago: endpoints are served as they were. */
  GRACE,
  /** The grace period is over: endpoints are kept but only used when nothing else is left. */
  DEMOTED,
  /** The expiry is over: endpoints are no longer served (they stay in etcd until re-announced). */
  EXPIRED;

  public boolean served() {
    return this != EXPIRED;
  }
}
