package dev.fedmesh.benchmarks.load;

import java.util.List;

/**
 * One topology's open-loop figures summed over the slices of an interleaved run, with the CPU its
 * proxies used during those slices only.
 */
final class OpenLoopTally {
  final LatencySamples latency = new LatencySamples();
  final LatencySamples sendLag = new LatencySamples();
  long ok;
  long errors;
  final java.util.Map<String, Long> errorKinds = new java.util.TreeMap<>();
  private long cpuNanos;
  private long wallNanos;

  /** Runs one slice of {@code load} at {@code rate} and adds it up. */
  void slice(LoadGenerator load, List<ChildProcess> proxies, int rate, java.time.Duration duration)
      throws InterruptedException {
    CpuWindow window = CpuWindow.start(proxies);
    LoadGenerator.Result result = load.openLoop(rate, duration);
    cpuNanos += window.cpuNanosSince();
    wallNanos += System.nanoTime() - window.wallStart();
    latency.addAll(result.latency());
    sendLag.addAll(result.sendLag());
    ok += result.ok();
    errors += result.errors();
    result.errorKinds().forEach((kind, count) -> errorKinds.merge(kind, count, Long::sum));
  }

  /** The proxies' CPU seconds per wall second during the slices. */
  double coresUsed() {
    return wallNanos == 0 ? 0 : (double) cpuNanos / wallNanos;
  }
}
