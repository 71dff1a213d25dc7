package dev.fedmesh.benchmarks.load;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** An option's count, rate or size: a whole number above zero. */
final class PositiveInt implements ITypeConverter<Integer> {
  @Override
  public Integer convert(String value) {
    int number;
    try {
      number = Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      number = 0; // not a number: refused below, as zero is
    }
    if (number <= 0) {
      throw new TypeConversionException("'" + value + "' (expected: a whole number above zero)");
    }
    return number;
  }
}
