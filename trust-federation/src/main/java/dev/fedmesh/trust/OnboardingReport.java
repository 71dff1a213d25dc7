package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * The verdict on a cluster CA brought for onboarding: every problem that refuses it, warnings that
 * do not, and the validated CA when there are no problems.
 */
public record OnboardingReport(
    List<String> problems, List<String> warnings, Optional<ClusterCa> clusterCa) {
  public OnboardingReport {
    problems = List.copyOf(requireNonNull(problems, "problems"));
    warnings = List.copyOf(requireNonNull(warnings, "warnings"));
    requireNonNull(clusterCa, "clusterCa");
    if (problems.isEmpty() != clusterCa.isPresent()) {
      throw new IllegalArgumentException(
          "clusterCa: " + clusterCa.isPresent() + " (expected: present exactly when no problems)");
    }
  }

  public boolean accepted() {
    return problems.isEmpty();
  }

  /** The validated CA. */
  public ClusterCa orElseThrow() {
    return clusterCa.orElseThrow(() -> new InvalidCaException(problems));
  }
}
