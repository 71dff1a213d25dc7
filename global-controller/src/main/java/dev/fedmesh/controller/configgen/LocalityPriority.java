package dev.fedmesh.controller.configgen;

import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.model.Locality;

/**
 * Envoy's (and Istio's) locality failover rule: for a proxy in region R and zone Z, endpoints in
 * R/Z come first, then the rest of R, then other regions in the failover order configured for R
 * (regions it does not name share the last of these levels). Endpoints of a cluster whose agent has
 * been gone past the grace period come after everything else. Levels left empty are skipped when
 * priorities are assigned, since Envoy and gRPC require priorities to start at 0 and be contiguous.
 */
final class LocalityPriority {
  static final int SAME_ZONE = 0;
  static final int SAME_REGION = 1;
  static final int OTHER_REGIONS = 2;

  /** Above any level a failover list can produce. */
  static final int DEMOTED = Integer.MAX_VALUE;

  private LocalityPriority() {}

  /** The level of an endpoint at {@code endpoint} for a proxy at {@code proxy}. */
  static int level(Locality proxy, Locality endpoint, FailoverOrder failover, boolean demoted) {
    if (demoted) {
      return DEMOTED;
    }
    if (proxy.sameZone(endpoint)) {
      return SAME_ZONE;
    }
    if (proxy.sameRegion(endpoint)) {
      return SAME_REGION;
    }
    return OTHER_REGIONS + failover.rank(proxy.region(), endpoint.region());
  }
}
