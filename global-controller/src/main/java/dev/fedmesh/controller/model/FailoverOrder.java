package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which regions a region's traffic fails over to, nearest first: {@code us-east -> [us-west,
 * eu-central]} makes callers in us-east use us-west once us-east has nothing left, and eu-central
 * after that. Regions a list does not name come last, all at one level, as Envoy and Istio do by
 * default.
 */
public record FailoverOrder(Map<String, List<String>> byRegion) {
  public static final FailoverOrder NONE = new FailoverOrder(Map.of());

  public FailoverOrder {
    requireNonNull(byRegion, "byRegion");
    Map<String, List<String>> copy = new LinkedHashMap<>();
    byRegion.forEach(
        (region, order) -> {
          if (region.isBlank()) {
            throw new IllegalArgumentException("failover: '' (expected: a region name)");
          }
          if (order.contains(region)) {
            throw new IllegalArgumentException(
                "failover." + region + ": lists " + region + " itself (expected: other regions)");
          }
          if (order.stream().distinct().count() != order.size()) {
            throw new IllegalArgumentException(
                "failover." + region + ": " + order + " (expected: each region at most once)");
          }
          copy.put(region, List.copyOf(order));
        });
    byRegion = Map.copyOf(copy);
  }

  /**
   * Parses {@code us-east=us-west,eu-central}, the form of the controller's {@code
   * --region-failover} flag.
   */
  public static Map.Entry<String, List<String>> parseEntry(String text) {
    int equals = text.indexOf('=');
    if (equals <= 0 || equals == text.length() - 1) {
      throw new IllegalArgumentException(
          "--region-failover: '" + text + "' (expected: region=next-region[,next-region...])");
    }
    return Map.entry(
        text.substring(0, equals).strip(),
        List.of(text.substring(equals + 1).strip().split("\\s*,\\s*")));
  }

  /**
   * The rank of {@code target} among the regions a caller in {@code source} fails over to: 0 for
   * the first listed, and the list's length for any region it does not name.
   */
  public int rank(String source, String target) {
    List<String> order = byRegion.getOrDefault(source, List.of());
    int index = order.indexOf(target);
    return index >= 0 ? index : order.size();
  }
}
