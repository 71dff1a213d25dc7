package dev.fedmesh.benchmarks.load;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code --name value} flags over defaults; an unknown name is an error that lists the known. */
final class Flags {
  private final Map<String, String> values;

  /**
   * The flags every load harness takes, with their defaults: the open loop (duration, warm-up,
   * interleaved rounds, rate, body size, connections), the closed loop (duration, concurrency), the
   * JVM to start children with, and whether to keep the working directory.
   */
  static Map<String, String> loadDefaults() {
    Map<String, String> defaults = new LinkedHashMap<>();
    defaults.put("duration", "60s");
    defaults.put("warmup", "15s");
    defaults.put("rounds", "6");
    defaults.put("rate", "1000");
    defaults.put("body", "1024");
    defaults.put("connections", "32");
    defaults.put("closed-duration", "10s");
    defaults.put("concurrency", "16");
    defaults.put(
        "java", java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
    defaults.put("keep", "false");
    return defaults;
  }

  Flags(Map<String, String> defaults, String[] args) {
    values = new LinkedHashMap<>(defaults);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--help") || arg.equals("-h")) {
        throw new IllegalArgumentException("flags (with defaults): " + defaults);
      }
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException(arg + ": not a flag (expected: --name value)");
      }
      String name = arg.substring(2);
      String value;
      int equals = name.indexOf('=');
      if (equals >= 0) {
        value = name.substring(equals + 1);
        name = name.substring(0, equals);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException(arg + ": no value");
      }
      if (!defaults.containsKey(name)) {
        throw new IllegalArgumentException(
            "--" + name + ": unknown flag (expected one of " + defaults.keySet() + ")");
      }
      values.put(name, value);
    }
  }

  String string(String name) {
    return values.get(name);
  }

  int integer(String name) {
    return Integer.parseInt(values.get(name));
  }

  /** {@code 250ms}, {@code 10s}, {@code 2m}. */
  Duration duration(String name) {
    String text = values.get(name).trim();
    if (text.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
    }
    if (text.endsWith("s")) {
      return Duration.ofMillis(
          Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1000));
    }
    if (text.endsWith("m")) {
      return Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)) * 60);
    }
    throw new IllegalArgumentException(
        "--" + name + ": '" + text + "' (expected: a duration such as 500ms, 10s or 2m)");
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
