package dev.fedmesh.model;

import java.util.List;
import java.util.Map;

/**
 * How a sidecar's JVM is started, in one place for every launcher: the injector puts these in the
 * proxy container's environment, and the sidecar benchmark starts its sidecars with them, so the
 * figures it prints are those of the sidecar users run.
 *
 * <p>A sidecar runs beside every pod, so it is sized for one event loop's work (where each megabyte
 * goes: benchmarks/README.md, "Where a sidecar's memory goes"):
 *
 * <ul>
 *   <li>the serial collector: no collector threads, the least heap overhead; its young pauses on a
 *       heap this small are about a millisecond;
 *   <li>a 32 MB heap: the live set under load is 10-16 MB;
 *   <li>small thread stacks and a bounded code cache (C2 stays on: without it the request path runs
 *       at a third of the speed);
 *   <li>native memory handed back: glibc keeps memory the JIT and BoringSSL freed in per-thread
 *       arenas unless asked to trim it, and two arenas are plenty for a handful of threads;
 *   <li>Netty's leak detector off (it records a stack trace for one buffer in 128), and its
 *       flight-recorder events (they load the JDK's recorder, a megabyte of classes);
 *   <li>logging configured in code ({@code fedmesh.log.console}: the proxy's ConsoleLogging), not
 *       by parsing XML at every start.
 * </ul>
 */
public final class SidecarJvm {
  /** The JVM's options, as {@code JAVA_TOOL_OPTIONS} or a launcher's command line carries them. */
  public static final List<String> OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-Xms32m",
          "-Xmx32m",
          "-Xss256k",
          "-XX:ReservedCodeCacheSize=32m",
          "-XX:MaxMetaspaceSize=96m",
          "-XX:TrimNativeHeapInterval=5000",
          "-XX:-UsePerfData",
          "-XX:+ExitOnOutOfMemoryError",
          "-Dio.netty.leakDetection.level=disabled",
          "-Dio.netty.jfr.enabled=false",
          "-Dfedmesh.log.console=true");

  /** Environment the JVM's native side reads before any option is parsed. */
  public static final Map<String, String> ENVIRONMENT = Map.of("MALLOC_ARENA_MAX", "2");

  private SidecarJvm() {}

  /** {@link #OPTIONS} as one string, for {@code JAVA_TOOL_OPTIONS}. */
  public static String optionsLine() {
    return String.join(" ", OPTIONS);
  }
}
