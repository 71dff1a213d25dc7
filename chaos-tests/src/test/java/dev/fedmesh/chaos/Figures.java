package dev.fedmesh.chaos;

import java.util.List;

/** Prints a chaos test's figures in one line that the note and CI logs can quote. */
final class Figures {
  private Figures() {}

  static void print(String test, long failoverMillis, List<Load.Result> results, String more) {
    long failed = Load.failed(results);
    System.out.printf(
        "CHAOS %s: failover_ms=%d, failed=%d/%d%s%s%n",
        test,
        failoverMillis,
        failed,
        results.size(),
        more.isEmpty() ? "" : ", " + more,
        failed == 0 ? "" : " (first error: " + Load.firstError(results) + ")");
  }
}
