package dev.fedmesh.model;

/**
 * What an endpoint may receive, from the EndpointSlice conditions: ready endpoints take traffic,
 * terminating-but-serving ones finish what they have (Envoy's DRAINING) and take nothing new.
 */
public enum EndpointHealth {
  HEALTHY,
  DRAINING,
  UNHEALTHY;

  /** Kubernetes' rule: ready implies serving and not terminating. */
  public static EndpointHealth fromConditions(boolean ready, boolean serving, boolean terminating) {
    if (ready && !terminating) {
      return HEALTHY;
    }
    if (serving && terminating) {
      return DRAINING;
    }
    return UNHEALTHY;
  }
}
