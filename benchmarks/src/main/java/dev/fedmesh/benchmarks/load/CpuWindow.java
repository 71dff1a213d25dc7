package dev.fedmesh.benchmarks.load;

import java.util.List;

/** CPU the given processes use from {@link #start} until {@link #coresUsed()}, as cores busy. */
record CpuWindow(List<ChildProcess> processes, long wallStart, long cpuStart) {
  static CpuWindow start(List<ChildProcess> processes) {
    return new CpuWindow(processes, System.nanoTime(), cpu(processes));
  }

  double coresUsed() {
    long wall = System.nanoTime() - wallStart;
    return (double) (cpu(processes) - cpuStart) / wall;
  }

  long cpuNanosSince() {
    return cpu(processes) - cpuStart;
  }

  private static long cpu(List<ChildProcess> processes) {
    return processes.stream().mapToLong(p -> ProcessStats.cpuNanos(p.pid())).sum();
  }
}
