package dev.fedmesh.controller.xds;

import io.envoyproxy.controlplane.cache.Resources;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Make-before-break: the snapshots a group is moved through so that no route ever names a cluster
 * its proxy does not have. A proxy applies each xDS type as it arrives, in whatever order the
 * server sends them; if routes that name a new cluster (a canary's subset) arrive before the
 * cluster, or a cluster goes before the routes stop naming it, requests in between fail. So when a
 * change adds clusters and changes routing, the group first gets the new clusters (and their
 * endpoints) beside the routes it already has; when it removes clusters, it next gets the new
 * routes with the old clusters still there; only then the change itself. Each stage is served once
 * every proxy of the group acknowledged the one before (or after a deadline, so that one proxy
 * rejecting config cannot hold the others back).
 */
final class ConfigRollout {
  private ConfigRollout() {}

  /** The snapshots to serve in order, the last being {@code next}. */
  static List<XdsSnapshot> stages(XdsSnapshot served, XdsSnapshot next) {
    if (served == null) {
      return List.of(next);
    }
    Set<String> before = served.resources(Resources.ResourceType.CLUSTER).keySet();
    Set<String> after = next.resources(Resources.ResourceType.CLUSTER).keySet();
    Set<String> added = new HashSet<>(after);
    added.removeAll(before);
    Set<String> removed = new HashSet<>(before);
    removed.removeAll(after);
    boolean routing =
        changed(served, next, Resources.ResourceType.ROUTE)
            || changed(served, next, Resources.ResourceType.LISTENER);
    if (!routing || (added.isEmpty() && removed.isEmpty())) {
      return List.of(next);
    }
    XdsSnapshot.Typed<?> clusters = union(served, next, Resources.ResourceType.CLUSTER);
    XdsSnapshot.Typed<?> endpoints = union(served, next, Resources.ResourceType.ENDPOINT);
    List<XdsSnapshot> stages = new ArrayList<>();
    if (!added.isEmpty()) {
      stages.add(
          snapshot(
              clusters,
              endpoints,
              served.typed(Resources.ResourceType.LISTENER),
              served.typed(Resources.ResourceType.ROUTE)));
    }
    if (!removed.isEmpty()) {
      stages.add(
          snapshot(
              clusters,
              endpoints,
              next.typed(Resources.ResourceType.LISTENER),
              next.typed(Resources.ResourceType.ROUTE)));
    }
    stages.add(next);
    return stages;
  }

  private static boolean changed(
      XdsSnapshot served, XdsSnapshot next, Resources.ResourceType type) {
    return !served.version(type, List.of()).equals(next.version(type, List.of()));
  }

  /** Every resource of either snapshot; where both have one, the new one. */
  private static XdsSnapshot.Typed<?> union(
      XdsSnapshot served, XdsSnapshot next, Resources.ResourceType type) {
    Map<String, com.google.protobuf.Message> all = new LinkedHashMap<>(served.resources(type));
    all.putAll(next.resources(type));
    return XdsSnapshot.Typed.of(all, XdsSnapshot::contentHash);
  }

  private static XdsSnapshot snapshot(
      XdsSnapshot.Typed<?> clusters,
      XdsSnapshot.Typed<?> endpoints,
      XdsSnapshot.Typed<?> listeners,
      XdsSnapshot.Typed<?> routes) {
    Map<Resources.ResourceType, XdsSnapshot.Typed<?>> types =
        new EnumMap<>(Resources.ResourceType.class);
    types.put(Resources.ResourceType.CLUSTER, clusters);
    types.put(Resources.ResourceType.ENDPOINT, endpoints);
    types.put(Resources.ResourceType.LISTENER, listeners);
    types.put(Resources.ResourceType.ROUTE, routes);
    return XdsSnapshot.of(types);
  }
}
