package dev.fedmesh.benchmarks.load;

import dev.fedmesh.model.policy.PolicyDurations;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Duration options of the load harnesses, in the forms policies use ({@link PolicyDurations}:
 * {@code 500ms}, {@code 10s}, {@code 1.5s}, {@code 2m}, {@code 1m30s}); the reports print them back
 * with {@link PolicyDurations#format}.
 */
final class DurationOption {
  private DurationOption() {}

  /** A duration, zero included: {@code --warmup 0s} skips the warm-up. */
  static final class Converter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return PolicyDurations.parse(value.strip())
          .orElseThrow(
              () ->
                  new TypeConversionException(
                      "'" + value + "' (expected: a duration such as 500ms, 10s, 1.5s or 2m)"));
    }
  }

  /** A duration above zero, as a measured run's length must be. */
  static final class PositiveConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return PolicyDurations.parse(value.strip())
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
