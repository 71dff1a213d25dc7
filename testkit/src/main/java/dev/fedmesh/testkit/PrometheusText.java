package dev.fedmesh.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that check
 * what a scraper would see. It refuses what Prometheus refuses: a malformed line, name or label, a
 * bad escape, a value that is not a float, a sample before its family's TYPE or with a name that
 * does not belong to it, a family split in two, a TYPE or HELP given twice, a series given twice.
 */
public final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Set<String> TYPES =
      Set.of("counter", "gauge", "histogram", "summary", "untyped");

  /** One sample: a series and its value. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private PrometheusText() {}

  /**
   * Reads an exposition.
   *
   * @throws IllegalArgumentException naming the line and what is wrong with it
   */
  public static List<Sample> parse(String text) {
    List<Sample> samples = new ArrayList<>();
    Map<String, String> types = new HashMap<>();
    Set<String> helps = new HashSet<>();
    Set<String> closedFamilies = new HashSet<>();
    Set<String> series = new HashSet<>();
    String family = null;
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + " '" + line + "': ";
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("#")) {
        String[] parts = line.split(" ", 4);
        if (parts.length >= 3 && (parts[1].equals("TYPE") || parts[1].equals("HELP"))) {
          String name = parts[2];
          if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(where + "bad metric name");
          }
          if (!name.equals(family)) {
            if (family != null) {
              closedFamilies.add(family);
            }
            if (closedFamilies.contains(name)) {
              throw new IllegalArgumentException(where + "family " + name + " split in two");
            }
            family = name;
          }
          if (parts[1].equals("TYPE")) {
            if (parts.length != 4 || !TYPES.contains(parts[3])) {
              throw new IllegalArgumentException(where + "bad TYPE");
            }
            if (types.put(name, parts[3]) != null) {
              throw new IllegalArgumentException(where + "second TYPE for " + name);
            }
          } else if (!helps.add(name)) {
            throw new IllegalArgumentException(where + "second HELP for " + name);
          }
        }
        continue; // other comments are allowed
      }
      Sample sample = sample(line, where);
      if (family == null || !belongs(sample.name(), family, types.get(family))) {
        throw new IllegalArgumentException(
            where + "sample outside its family (last TYPE/HELP: " + family + ")");
      }
      if (!series.add(sample.name() + sample.labels())) {
        throw new IllegalArgumentException(where + "series given twice");
      }
      samples.add(sample);
    }
    return samples;
  }

  private static boolean belongs(String name, String family, String type) {
    if (name.equals(family)) {
      return true;
    }
    if ("histogram".equals(type)) {
      return name.equals(family + "_bucket")
          || name.equals(family + "_count")
          || name.equals(family + "_sum");
    }
    if ("summary".equals(type)) {
      return name.equals(family + "_count") || name.equals(family + "_sum");
    }
    return "counter".equals(type) && name.equals(family + "_created");
  }

  private static Sample sample(String line, String where) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(where + "bad metric name");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (true) {
        if (i >= line.length()) {
          throw new IllegalArgumentException(where + "unterminated labels");
        }
        if (line.charAt(i) == '}') {
          i++;
          break;
        }
        int eq = line.indexOf('=', i);
        if (eq < 0) {
          throw new IllegalArgumentException(where + "label without '='");
        }
        String label = line.substring(i, eq);
        if (!LABEL.matcher(label).matches()) {
          throw new IllegalArgumentException(where + "bad label name '" + label + "'");
        }
        if (eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException(where + "label value not quoted");
        }
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (; ; j++) {
          if (j >= line.length()) {
            throw new IllegalArgumentException(where + "unterminated label value");
          }
          char c = line.charAt(j);
          if (c == '\\') {
            char next = j + 1 < line.length() ? line.charAt(j + 1) : ' ';
            switch (next) {
              case '\\' -> value.append('\\');
              case '"' -> value.append('"');
              case 'n' -> value.append('\n');
              default -> throw new IllegalArgumentException(where + "bad escape in label value");
            }
            j++;
          } else if (c == '"') {
            break;
          } else {
            value.append(c);
          }
        }
        if (labels.put(label, value.toString()) != null) {
          throw new IllegalArgumentException(where + "label " + label + " given twice");
        }
        i = j + 1;
        if (i < line.length() && line.charAt(i) == ',') {
          i++;
        }
      }
    }
    if (i >= line.length() || line.charAt(i) != ' ') {
      throw new IllegalArgumentException(where + "no value");
    }
    String[] rest = line.substring(i + 1).split(" ");
    if (rest.length > 2) {
      throw new IllegalArgumentException(where + "more than a value and a timestamp");
    }
    double value;
    try {
      value =
          switch (rest[0]) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(rest[0]);
          };
      if (rest.length == 2) {
        Long.parseLong(rest[1]);
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + "value is not a number");
    }
    return new Sample(name, Map.copyOf(labels), value);
  }

  /** The sum of the values of the series named {@code name} whose labels include {@code match}. */
  public static double sum(List<Sample> samples, String name, Map<String, String> match) {
    return samples.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(match.entrySet()))
        .mapToDouble(Sample::value)
        .sum();
  }
}
