package dev.fedmesh.controller.configgen;

import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.policy.LocalityLbSetting;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How one destination's endpoints are ordered for one caller: Envoy's locality priorities with a
 * region failover order ({@link LocalityPriority}), Istio's {@code failoverPriority} by topology
 * labels, {@code distribute} shares by locality, or no locality awareness at all.
 *
 * @param enabled false puts every endpoint (but demoted clusters') in one priority
 * @param failover the region failover order
 * @param failoverPriority topology label keys, most important first
 * @param distribute locality shares by caller locality
 */
record LocalityRule(
    boolean enabled,
    FailoverOrder failover,
    List<String> failoverPriority,
    List<LocalityLbSetting.Distribute> distribute) {

  static final LocalityRule DISABLED =
      new LocalityRule(false, FailoverOrder.NONE, List.of(), List.of());

  /** Above any level the other rules produce. */
  private static final int FAILOVER_PRIORITY_STRIDE = 1_000;

  static LocalityRule failover(FailoverOrder order) {
    return new LocalityRule(true, order, List.of(), List.of());
  }

  /**
   * What the rule needs to know about where an endpoint runs.
   *
   * @param cluster the member cluster's name
   * @param network the cluster's network
   * @param labels the endpoint's pod labels (for a gateway entry, those all its endpoints share)
   */
  record Place(Locality locality, String cluster, String network, Map<String, String> labels) {}

  /** The level (lower is preferred) of an endpoint at {@code endpoint} for {@code proxy}. */
  int level(ProxyContext proxy, Place endpoint, boolean demoted) {
    if (demoted) {
      return LocalityPriority.DEMOTED;
    }
    if (!enabled || distributeFor(proxy.locality()).isPresent()) {
      return 0;
    }
    if (failoverPriority.isEmpty()) {
      return LocalityPriority.level(proxy.locality(), endpoint.locality(), failover, false);
    }
    int matched = 0;
    for (String key : failoverPriority) {
      if (!sameValue(key, proxy, endpoint)) {
        break;
      }
      matched++;
    }
    // Istio: labels alone decide; a failover list given with them orders regions within a level.
    int rank =
        failover.byRegion().isEmpty() || proxy.locality().sameRegion(endpoint.locality())
            ? 0
            : 1 + failover.rank(proxy.locality().region(), endpoint.locality().region());
    return (failoverPriority.size() - matched) * FAILOVER_PRIORITY_STRIDE + rank;
  }

  private static boolean sameValue(String key, ProxyContext proxy, Place endpoint) {
    Locality mine = proxy.locality();
    Locality theirs = endpoint.locality();
    return switch (key) {
      case "topology.kubernetes.io/region" -> mine.sameRegion(theirs);
      case "topology.kubernetes.io/zone" -> mine.sameZone(theirs);
      case "topology.istio.io/subzone" ->
          mine.sameZone(theirs)
              && !mine.subzone().isEmpty()
              && mine.subzone().equals(theirs.subzone());
      case "topology.istio.io/network" -> proxy.network().equals(endpoint.network());
      case "topology.istio.io/cluster" ->
          !proxy.cluster().isEmpty() && proxy.cluster().equals(endpoint.cluster());
      default -> {
        // Any other key compares the caller's workload labels with the endpoint's pod labels.
        String value = proxy.labels().get(key);
        yield value != null && value.equals(endpoint.labels().get(key));
      }
    };
  }

  /** The {@code distribute} entry for callers at {@code proxy}, when one applies. */
  Optional<LocalityLbSetting.Distribute> distributeFor(Locality proxy) {
    if (!enabled) {
      return Optional.empty();
    }
    return distribute.stream().filter(d -> matches(d.from(), proxy)).findFirst();
  }

  /**
   * The index of the first {@code to} pattern of {@code distribute} that matches {@code locality},
   * or -1 when none does (such endpoints get no traffic).
   */
  static int pattern(LocalityLbSetting.Distribute distribute, Locality locality) {
    int index = 0;
    for (Map.Entry<String, Integer> to : distribute.to().entrySet()) {
      if (matches(to.getKey(), locality)) {
        return index;
      }
      index++;
    }
    return -1;
  }

  /** Whether {@code region[/zone[/subzone]]}, with {@code *} as its last part, matches. */
  static boolean matches(String pattern, Locality locality) {
    String[] parts = pattern.split("/", -1);
    String[] values = {locality.region(), locality.zone(), locality.subzone()};
    for (int i = 0; i < parts.length && i < 3; i++) {
      if (parts[i].equals("*")) {
        return true;
      }
      if (!parts[i].equals(values[i])) {
        return false;
      }
    }
    return true;
  }
}
