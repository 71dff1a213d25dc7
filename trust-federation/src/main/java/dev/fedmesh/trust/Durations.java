package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them on command lines and read them in messages: 24h, 90m, 30s, 7d. */
public final class Durations {
  private static final Pattern TEXT = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

  private Durations() {}

  /** Parses {@code <n>ms}, {@code <n>s}, {@code <n>m}, {@code <n>h} or {@code <n>d}. */
  public static Duration parse(String text) {
    requireNonNull(text, "text");
    Matcher matcher = TEXT.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' (expected: a number followed by ms, s, m, h or d, e.g. 24h)");
    }
    long amount = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  /** The shortest exact form: {@code 24h}, {@code 90m}, {@code 1d}, {@code 45s}. */
  public static String format(Duration duration) {
    requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      return "-" + format(duration.negated());
    }
    if (duration.getNano() != 0) {
      return duration.toMillis() + "ms";
    }
    long seconds = duration.getSeconds();
    if (seconds != 0 && seconds % 86_400 == 0 && seconds / 86_400 > 2) {
      return seconds / 86_400 + "d";
    }
    if (seconds != 0 && seconds % 3600 == 0) {
      return seconds / 3600 + "h";
    }
    if (seconds != 0 && seconds % 60 == 0) {
      return seconds / 60 + "m";
    }
    return seconds + "s";
  }

  /** The two largest units, for people: {@code 364d 23h}, {@code 23h 59m}, {@code 42s}. */
  public static String approximate(Duration duration) {
    requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      return "-" + approximate(duration.negated());
    }
    long seconds = duration.getSeconds();
    long days = seconds / 86_400;
    long hours = seconds % 86_400 / 3600;
    long minutes = seconds % 3600 / 60;
    if (days > 0) {
      return days + "d " + hours + "h";
    }
    if (hours > 0) {
      return hours + "h " + minutes + "m";
    }
    if (minutes > 0) {
      return minutes + "m " + seconds % 60 + "s";
    }
    return seconds + "s";
  }
}
