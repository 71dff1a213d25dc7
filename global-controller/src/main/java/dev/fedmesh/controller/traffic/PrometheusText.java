package dev.fedmesh.controller.traffic;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads samples from Prometheus' text exposition format (version 0.0.4), the format every fedmesh
 * and Envoy proxy serves at {@code /stats/prometheus}: one sample a line, {@code
 * name{label="value", ...} value [timestamp]}, comments and blank lines skipped. Only the samples
 * of the metric asked for are parsed; a malformed line of that metric is reported, never guessed
 * at.
 */
public final class PrometheusText {
  private PrometheusText() {}

  /** One sample: its labels (in the order written) and value. */
  public record Sample(Map<String, String> labels, double value) {
    public Sample {
      labels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(labels));
    }

    public String label(String name) {
      return labels.getOrDefault(name, "");
    }
  }

  /** What was read: the samples of the metric, and a description of every line refused. */
  public record Parsed(List<Sample> samples, List<String> errors) {
    public Parsed {
      samples = List.copyOf(samples);
      errors = List.copyOf(errors);
    }
  }

  /** The samples of {@code metric} in {@code text}. */
  public static Parsed samples(String text, String metric) {
    List<Sample> samples = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    int lineNumber = 0;
    int start = 0;
    while (start <= text.length()) {
      int end = text.indexOf('\n', start);
      if (end < 0) {
        end = text.length();
      }
      lineNumber++;
      String line = text.substring(start, end);
      start = end + 1;
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      if (!line.startsWith(metric)
          || line.length() == metric.length()
          || (line.charAt(metric.length()) != '{' && line.charAt(metric.length()) != ' ')) {
        continue; // another metric, a comment or a blank line
      }
      try {
        samples.add(parse(line, metric.length()));
      } catch (IllegalArgumentException e) {
        errors.add("line " + lineNumber + ": " + e.getMessage());
      }
    }
    return new Parsed(samples, errors);
  }

  private static Sample parse(String line, int at) {
    Map<String, String> labels = new LinkedHashMap<>();
    int i = at;
    if (line.charAt(i) == '{') {
      i++;
      while (true) {
        i = skipSpaces(line, i);
        if (i < line.length() && line.charAt(i) == '}') {
          i++;
          break;
        }
        int nameStart = i;
        while (i < line.length() && isLabelChar(line.charAt(i), i == nameStart)) {
          i++;
        }
        if (i == nameStart) {
          throw new IllegalArgumentException("label name expected at column " + (i + 1));
        }
        String name = line.substring(nameStart, i);
        i = skipSpaces(line, i);
        if (i >= line.length() || line.charAt(i) != '=') {
          throw new IllegalArgumentException("'=' expected after label " + name);
        }
        i = skipSpaces(line, i + 1);
        if (i >= line.length() || line.charAt(i) != '"') {
          throw new IllegalArgumentException("quoted value expected for label " + name);
        }
        StringBuilder value = new StringBuilder();
        i++;
        boolean closed = false;
        while (i < line.length()) {
          char c = line.charAt(i++);
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && i < line.length()) {
            char escaped = line.charAt(i++);
            value.append(escaped == 'n' ? '\n' : escaped);
          } else {
            value.append(c);
          }
        }
        if (!closed) {
          throw new IllegalArgumentException("unterminated value of label " + name);
        }
        labels.put(name, value.toString());
        i = skipSpaces(line, i);
        if (i < line.length() && line.charAt(i) == ',') {
          i++;
        } else if (i >= line.length() || line.charAt(i) != '}') {
          throw new IllegalArgumentException("',' or '}' expected after label " + name);
        }
      }
    }
    i = skipSpaces(line, i);
    int valueEnd = line.indexOf(' ', i);
    String number = valueEnd < 0 ? line.substring(i) : line.substring(i, valueEnd);
    return new Sample(labels, value(number));
  }

  private static double value(String number) {
    return switch (number) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> {
        try {
          yield Double.parseDouble(number);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("value '" + number + "' is not a number");
        }
      }
    };
  }

  private static boolean isLabelChar(char c, boolean first) {
    return c == '_'
        || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (!first && c >= '0' && c <= '9');
  }

  private static int skipSpaces(String line, int i) {
    while (i < line.length() && line.charAt(i) == ' ') {
      i++;
    }
    return i;
  }
}
