package dev.fedmesh.benchmarks.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What Linux says about a process: resident memory from {@code /proc/<pid>/status} and CPU time
 * (user + system) from {@code /proc/<pid>/stat}.
 */
final class ProcessStats {
  private static final long CLOCK_TICKS_PER_SECOND = clockTicks();

  private ProcessStats() {}

  /** Resident set size now ({@code VmRSS}), in KiB. */
  static long rssKib(long pid) {
    return statusField(pid, "VmRSS:");
  }

  /** The largest resident set size so far ({@code VmHWM}), in KiB. */
  static long peakRssKib(long pid) {
    return statusField(pid, "VmHWM:");
  }

  /** CPU time used so far, user and system, in nanoseconds. */
  static long cpuNanos(long pid) {
    String stat = read(Path.of("/proc", Long.toString(pid), "stat"));
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
    return ticks * 1_000_000_000L / CLOCK_TICKS_PER_SECOND;
  }

  /** The machine's 1, 5 and 15 minute load averages, as {@code /proc/loadavg} gives them. */
  static String loadAverage() {
    String[] fields = read(Path.of("/proc/loadavg")).trim().split("\\s+");
    return fields[0] + " " + fields[1] + " " + fields[2];
  }

  private static long statusField(long pid, String name) {
    for (String line : read(Path.of("/proc", Long.toString(pid), "status")).split("\n")) {
      if (line.startsWith(name)) {
        return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
      }
    }
    throw new IllegalStateException("/proc/" + pid + "/status: no " + name);
  }

  private static String read(Path path) {
    try {
      return Files.readString(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long clockTicks() {
    try {
      Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(getconf.getInputStream().readAllBytes()).trim();
      getconf.waitFor();
      return Long.parseLong(out);
    } catch (IOException | RuntimeException e) {
      return 100; // USER_HZ on every Linux architecture we run on
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }
}
