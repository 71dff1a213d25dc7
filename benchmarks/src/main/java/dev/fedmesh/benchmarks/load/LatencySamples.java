package dev.fedmesh.benchmarks.load;

import java.util.Arrays;

/**
 * Every latency of one run, in nanoseconds. A minute at 1,000 requests per second is 60,000 longs,
 * so the exact percentiles are cheaper to keep than a histogram's approximations. Not thread-safe:
 * one event loop records.
 */
final class LatencySamples {
  private long[] values = new long[4096];
  private int size;
  private boolean sorted;

  void record(long nanos) {
    if (size == values.length) {
      values = Arrays.copyOf(values, size * 2);
    }
    values[size++] = nanos;
    sorted = false;
  }

  void addAll(LatencySamples other) {
    for (int i = 0; i < other.size; i++) {
      record(other.values[i]);
    }
  }

  int count() {
    return size;
  }

  /** The value at quantile {@code q} (0..1, nearest rank), or NaN when nothing was recorded. */
  double percentileMicros(double q) {
    if (size == 0) {
      return Double.NaN;
    }
    if (!sorted) {
      Arrays.sort(values, 0, size);
      sorted = true;
    }
    int rank = (int) Math.ceil(q * size) - 1;
    return values[Math.max(0, Math.min(size - 1, rank))] / 1_000.0;
  }

  double maxMicros() {
    return percentileMicros(1.0);
  }
}
