package dev.fedmesh.controller.traffic;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Per-second rates from cumulative counters scraped from many proxies, as Prometheus' {@code
 * rate()} computes them: for each proxy, the increase between its oldest and newest sample inside
 * the window, divided by the time between them; a counter that went down (the proxy restarted)
 * counts from zero. A proxy that stops answering drops out once its last sample leaves the window,
 * so the traffic it was reporting fades out instead of being held at its last rate.
 *
 * @param <K> what is counted (an edge between two workloads)
 */
final class RateWindow<K> {
  /** Requests and failed requests, cumulative (in a sample) or per second (in a rate). */
  record Counts(double requests, double errors) {
    static final Counts ZERO = new Counts(0, 0);

    Counts plus(Counts other) {
      return new Counts(requests + other.requests, errors + other.errors);
    }
  }

  private record Sample<K>(long nanos, Map<K, Counts> counters) {}

  private final long windowNanos;
  private final Map<String, Deque<Sample<K>>> bySource = new HashMap<>();

  RateWindow(java.time.Duration window) {
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("window: " + window + " (expected: positive)");
    }
    this.windowNanos = window.toNanos();
  }

  /** Records what {@code source} (one proxy) reported at {@code nanos}. */
  synchronized void add(String source, long nanos, Map<K, Counts> counters) {
    bySource
        .computeIfAbsent(source, s -> new ArrayDeque<>())
        .addLast(new Sample<>(nanos, Map.copyOf(counters)));
  }

  /** Rates per key at {@code nowNanos}, summed over every source; keys with no increase omitted. */
  synchronized Map<K, Counts> rates(long nowNanos) {
    Map<K, Counts> rates = new HashMap<>();
    Iterator<Map.Entry<String, Deque<Sample<K>>>> sources = bySource.entrySet().iterator();
    while (sources.hasNext()) {
      Deque<Sample<K>> samples = sources.next().getValue();
      while (!samples.isEmpty() && samples.peekFirst().nanos() < nowNanos - windowNanos) {
        samples.pollFirst();
      }
      if (samples.isEmpty()) {
        sources.remove();
        continue;
      }
      Sample<K> first = samples.peekFirst();
      Sample<K> last = samples.peekLast();
      if (first == last || last.nanos() <= first.nanos()) {
        continue; // one sample says nothing about a rate yet
      }
      double seconds = (last.nanos() - first.nanos()) / 1e9;
      last.counters()
          .forEach(
              (key, now) -> {
                Counts before = first.counters().getOrDefault(key, Counts.ZERO);
                double requests = increase(before.requests(), now.requests());
                double errors = increase(before.errors(), now.errors());
                if (requests > 0 || errors > 0) {
                  rates.merge(key, new Counts(requests / seconds, errors / seconds), Counts::plus);
                }
              });
    }
    return rates;
  }

  /** Sources with a sample in the window. */
  synchronized int sources() {
    return bySource.size();
  }

  /** Forgets everything (nobody is watching). */
  synchronized void clear() {
    bySource.clear();
  }

  private static double increase(double before, double now) {
    return now >= before ? now - before : now;
  }
}
