package dev.fedmesh.benchmarks.load;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A duration as the load harnesses take and print it: whole milliseconds ({@code 500ms}), seconds
 * with an optional fraction ({@code 10s}, {@code 1.5s}) or whole minutes ({@code 2m}).
 */
final class DurationText {
  private static final Pattern FORM =
      Pattern.compile("(?<ms>\\d+)ms|(?<s>\\d+(?:\\.\\d+)?)s|(?<m>\\d+)m");

  private DurationText() {}

  /** The duration {@code text} spells, to the millisecond; empty if it is not of the form. */
  static Optional<Duration> parse(String text) {
    Matcher matcher = FORM.matcher(text.strip());
    if (!matcher.matches()) {
      return Optional.empty();
    }
    try {
      if (matcher.group("ms") != null) {
        return Optional.of(Duration.ofMillis(Long.parseLong(matcher.group("ms"))));
      }
      if (matcher.group("s") != null) {
        BigDecimal millis =
            new BigDecimal(matcher.group("s")).movePointRight(3).setScale(0, RoundingMode.HALF_UP);
        return Optional.of(Duration.ofMillis(millis.longValueExact()));
      }
      return Optional.of(Duration.ofMinutes(Long.parseLong(matcher.group("m"))));
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty(); // more digits than a Duration holds
    }
  }

  /**
   * {@code duration} as the command line would spell it: {@code 30s}, {@code 1.5s}, {@code 500ms}
   * (whole minutes as seconds, {@code 120s}, the way the defaults are written).
   */
  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 1000 == 0) {
      return millis / 1000 + "s";
    }
    if (Math.abs(millis) < 1000) {
      return millis + "ms";
    }
    return BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString() + "s";
  }

  /** An option's duration, zero included: {@code --warmup 0s} skips the warm-up. */
  static final class Converter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return parse(value)
          .orElseThrow(
              () ->
                  new TypeConversionException(
                      "'" + value + "' (expected: a duration such as 500ms, 10s, 1.5s or 2m)"));
    }
  }

  /** An option's duration that must be above zero, as a measured run's length must. */
  static final class PositiveConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return parse(value)
          .filter(duration -> !duration.isZero())
          .orElseThrow(
              () ->
                  new TypeConversionException(
                      "'"
                          + value
                          + "' (expected: a duration above zero such as 500ms, 10s, 1.5s or 2m)"));
    }
  }
}
