package dev.fedmesh.model.policy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as Istio's YAML writes them, Go's {@code time.ParseDuration} forms: {@code 10s}, {@code
 * 1.5s}, {@code 250ms}, {@code 1m30s}, {@code 2h}; units ns, us (µs), ms, s, m, h.
 */
public final class PolicyDurations {
  private static final Pattern PART =
      Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

  private PolicyDurations() {}

  /** The duration, or empty when the text is not one (negative durations are not durations). */
  public static Optional<Duration> parse(String text) {
    if (text == null || text.isEmpty()) {
      return Optional.empty();
    }
    Matcher matcher = PART.matcher(text);
    BigDecimal nanos = BigDecimal.ZERO;
    int at = 0;
    while (at < text.length()) {
      if (!matcher.find(at) || matcher.start() != at) {
        return Optional.empty();
      }
      BigDecimal value =
          new BigDecimal(
              matcher.group(1).endsWith(".") ? matcher.group(1) + "0" : matcher.group(1));
      long unit =
          switch (matcher.group(2)) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            default -> 3_600_000_000_000L;
          };
      nanos = nanos.add(value.multiply(BigDecimal.valueOf(unit)));
      at = matcher.end();
    }
    if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos(nanos.longValue()));
  }

  /** The shortest form {@link #parse} reads back: {@code 1.5s}, {@code 250ms}, {@code 0s}. */
  public static String format(Duration duration) {
    long nanos = duration.toNanos();
    if (nanos % 1_000_000 != 0) {
      return nanos + "ns";
    }
    long millis = nanos / 1_000_000;
    if (millis % 1000 != 0) {
      return millis + "ms";
    }
    return (millis / 1000) + "s";
  }
}
