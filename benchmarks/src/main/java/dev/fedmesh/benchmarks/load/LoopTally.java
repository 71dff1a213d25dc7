package dev.fedmesh.benchmarks.load;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One topology's figures summed over the slices of an interleaved run (open or closed loop), with
 * the CPU its proxies used during those slices only. Taking the topologies in turn, slice by slice,
 * makes load from outside the benchmark (and the machine's own drift) fall on each alike instead of
 * on whichever ran while it happened.
 */
final class LoopTally {
  final LatencySamples latency = new LatencySamples();
  final LatencySamples sendLag = new LatencySamples();
  long ok;
  long errors;
  final Map<String, Long> errorKinds = new TreeMap<>();

  /**
   * Each slice's p99 (µs) in the order they ran: a tail that shrinks from slice to slice is the
   * proxy still warming up (a JIT still compiling, or deoptimising code on a path it meets for the
   * first time), one that stays is its steady state.
   */
  final List<Double> sliceP99Micros = new ArrayList<>();

  private long cpuNanos;
  private long wallNanos;
  private long loadNanos;

  /** Runs one open-loop slice of {@code load} at {@code rate} and adds it up. */
  void openSlice(LoadGenerator load, List<ChildProcess> proxies, int rate, Duration duration)
      throws InterruptedException {
    CpuWindow window = CpuWindow.start(proxies);
    LoadGenerator.Result result = load.openLoop(rate, duration);
    add(result, window);
  }

  /** Runs one closed-loop slice of {@code load} and adds it up. */
  void closedSlice(LoadGenerator load, List<ChildProcess> proxies, Duration duration)
      throws InterruptedException {
    CpuWindow window = CpuWindow.start(proxies);
    LoadGenerator.Result result = load.closedLoop(duration);
    add(result, window);
  }

  private void add(LoadGenerator.Result result, CpuWindow window) {
    cpuNanos += window.cpuNanosSince();
    wallNanos += System.nanoTime() - window.wallStart();
    loadNanos += result.elapsedNanos();
    latency.addAll(result.latency());
    sliceP99Micros.add(result.latency().percentileMicros(0.99));
    sendLag.addAll(result.sendLag());
    ok += result.ok();
    errors += result.errors();
    result.errorKinds().forEach((kind, count) -> errorKinds.merge(kind, count, Long::sum));
  }

  /** Good answers per second of load. */
  double perSecond() {
    return loadNanos == 0 ? 0 : ok * 1e9 / loadNanos;
  }

  /** Good answers per CPU second of the proxies: what one core of them carries. */
  double perCore() {
    return cpuNanos == 0 ? 0 : ok * 1e9 / cpuNanos;
  }

  /** The proxies' CPU seconds per wall second during the slices. */
  double coresUsed() {
    return wallNanos == 0 ? 0 : (double) cpuNanos / wallNanos;
  }
}
