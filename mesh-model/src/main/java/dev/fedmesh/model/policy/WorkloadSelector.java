package dev.fedmesh.model.policy;

import java.util.Map;

/**
 * Istio's {@code selector.matchLabels}: which workloads of the policy's namespace it applies to.
 * Empty selects every workload of the namespace (or, in the mesh's root namespace, of the mesh).
 */
public record WorkloadSelector(Map<String, String> matchLabels) {
  public static final WorkloadSelector ALL = new WorkloadSelector(Map.of());

  public WorkloadSelector {
    matchLabels = Map.copyOf(matchLabels);
  }

  public boolean selectsAll() {
    return matchLabels.isEmpty();
  }

  /** Whether a workload with {@code labels} carries every label the selector names. */
  public boolean matches(Map<String, String> labels) {
    for (Map.Entry<String, String> label : matchLabels.entrySet()) {
      if (!label.getValue().equals(labels.get(label.getKey()))) {
        return false;
      }
    }
    return true;
  }

  static WorkloadSelector parse(Fields spec) {
    java.util.Optional<Fields> selector = spec.object("selector");
    if (selector.isEmpty()) {
      return ALL;
    }
    Map<String, String> labels = selector.get().stringMap("matchLabels");
    selector.get().unsupported("matchExpressions", "Istio selects by matchLabels only");
    selector.get().end();
    return new WorkloadSelector(labels);
  }
}
