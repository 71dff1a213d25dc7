package dev.fedmesh.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

/**
 * Prints a chaos test's figures in one line that the note and CI logs can quote, and checks that no
 * request failed. Failures are counted twice: from the fault onwards (what the fault cost) and from
 * the start of load (warm-up included), so neither can hide in the other.
 */
final class Figures {
  private Figures() {}

  static void print(
      String test, long faultNanos, long failoverMillis, List<Load.Result> results, String more) {
    long sinceStart = Load.failed(results);
    long sinceFault = Load.failedSince(results, faultNanos);
    System.out.printf(
        "CHAOS %s: failover_ms=%d, failed_since_fault=%d/%d, failed_since_start=%d/%d%s%s%n",
        test,
        failoverMillis,
        sinceFault,
        Load.endedSince(results, faultNanos),
        sinceStart,
        results.size(),
        more.isEmpty() ? "" : ", " + more,
        sinceStart == 0 ? "" : " (first error: " + Load.firstError(results) + ")");
  }

  /** Asserts that no request failed, neither after the fault nor before it. */
  static void assertNoFailures(List<Load.Result> results, long faultNanos) {
    assertThat(Load.failedSince(results, faultNanos))
        .as("failed since the fault; first error: %s", Load.firstError(results))
        .isZero();
    assertThat(Load.failed(results))
        .as("failed since the start of load; first error: %s", Load.firstError(results))
        .isZero();
  }
}
