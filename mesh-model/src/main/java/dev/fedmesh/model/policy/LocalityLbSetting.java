package dev.fedmesh.model.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Istio's {@code localityLbSetting}: where traffic goes when a caller's own locality cannot take it
 * ({@code failover}, region to region; {@code failoverPriority}, by matching labels) or how it is
 * spread from the start ({@code distribute}). Used by DestinationRule and MeshConfig.
 *
 * @param enabled false turns locality-aware load balancing off for the host
 * @param distribute for callers in {@code from}, the share each locality pattern gets
 * @param failover for callers in region {@code from}, the region to use next
 * @param failoverPriority label keys; endpoints matching the caller on more of them, in order, come
 *     first
 */
public record LocalityLbSetting(
    boolean enabled,
    List<Distribute> distribute,
    List<Failover> failover,
    List<String> failoverPriority) {
  /**
   * The label keys {@code failoverPriority} may name: the topology every endpoint and proxy has.
   */
  public static final List<String> TOPOLOGY_KEYS =
      List.of(
          "topology.kubernetes.io/region",
          "topology.kubernetes.io/zone",
          "topology.istio.io/subzone",
          "topology.istio.io/network",
          "topology.istio.io/cluster");

  public LocalityLbSetting {
    distribute = List.copyOf(distribute);
    failover = List.copyOf(failover);
    failoverPriority = List.copyOf(failoverPriority);
  }

  /**
   * @param from the callers' locality, {@code region/zone/subzone} with {@code *} wildcards
   * @param to locality pattern to percent; the percents add up to 100
   */
  public record Distribute(String from, Map<String, Integer> to) {
    public Distribute {
      to = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(to));
    }
  }

  public record Failover(String from, String to) {}

  static Optional<LocalityLbSetting> parse(Fields setting) {
    boolean enabled = setting.bool("enabled").orElse(true);
    List<Distribute> distribute = new ArrayList<>();
    for (Fields entry : setting.objects("distribute")) {
      String from = entry.requiredString("from").orElse("");
      Map<String, Integer> to = new LinkedHashMap<>();
      Optional<com.fasterxml.jackson.databind.JsonNode> raw = entry.raw("to");
      if (raw.isEmpty()) {
        entry.error("to", "missing (expected: locality patterns with percents adding up to 100)");
      } else if (!raw.get().isObject()) {
        entry.error("to", Fields.describe(raw.get()) + " (expected: a map of locality to percent)");
      } else {
        int total = 0;
        for (var it = raw.get().fields(); it.hasNext(); ) {
          var e = it.next();
          if (!e.getValue().isIntegralNumber()
              || e.getValue().asInt() < 0
              || e.getValue().asInt() > 100) {
            entry.error(
                "to." + e.getKey(),
                Fields.describe(e.getValue()) + " (expected: a percent 0..100)");
          } else {
            to.put(e.getKey(), e.getValue().asInt());
            total += e.getValue().asInt();
          }
          checkLocality(entry, "to." + e.getKey(), e.getKey());
        }
        if (to.size() == raw.get().size() && total != 100) {
          entry.error("to", "percents add up to " + total + " (expected: 100)");
        }
      }
      checkLocality(entry, "from", from);
      entry.end();
      distribute.add(new Distribute(from, to));
    }
    List<Failover> failover = new ArrayList<>();
    for (Fields entry : setting.objects("failover")) {
      String from = entry.requiredString("from").orElse("");
      String to = entry.requiredString("to").orElse("");
      if (!from.isEmpty() && from.equals(to)) {
        entry.error("to", "'" + to + "' (expected: a region other than from)");
      }
      if (from.contains("/") || to.contains("/")) {
        entry.error(
            null,
            "'" + from + "' -> '" + to + "' (expected: region names; failover is between regions)");
      }
      entry.end();
      failover.add(new Failover(from, to));
    }
    List<String> failoverPriority = setting.strings("failoverPriority");
    for (int i = 0; i < failoverPriority.size(); i++) {
      String key = failoverPriority.get(i);
      String bare = key.contains("=") ? key.substring(0, key.indexOf('=')) : key;
      if (key.contains("=")) {
        setting.error(
            "failoverPriority[" + i + "]",
            "'" + key + "' not supported (expected: a label key; key=value overrides are not)");
      } else if (bare.isEmpty()
          || !bare.matches(
              "([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")) {
        setting.error(
            "failoverPriority[" + i + "]",
            "'" + key + "' (expected: a label key such as topology.kubernetes.io/region)");
      }
    }
    if (!distribute.isEmpty() && !failover.isEmpty()) {
      setting.error(
          null, "sets both distribute and failover (expected: one of them, as Istio requires)");
    }
    if (!distribute.isEmpty() && !failoverPriority.isEmpty()) {
      setting.error(
          null,
          "sets both distribute and failoverPriority (expected: one of them, as Istio requires)");
    }
    setting.end();
    return Optional.of(new LocalityLbSetting(enabled, distribute, failover, failoverPriority));
  }

  private static void checkLocality(Fields entry, String field, String locality) {
    String[] parts = locality.split("/", -1);
    if (locality.isEmpty() || parts.length > 3) {
      entry.error(
          field,
          "'" + locality + "' (expected: region[/zone[/subzone]], '*' allowed as the last part)");
      return;
    }
    for (int i = 0; i < parts.length; i++) {
      if (parts[i].isEmpty()
          || (parts[i].contains("*") && (!parts[i].equals("*") || i != parts.length - 1))) {
        entry.error(
            field,
            "'" + locality + "' (expected: region[/zone[/subzone]], '*' allowed as the last part)");
        return;
      }
    }
  }
}
