package dev.fedmesh.model.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads one YAML object's fields, each by name and type, recording an error with the field's path
 * for every value of the wrong type and, at {@link #end()}, for every field nobody asked for:
 * unknown fields are errors, never ignored.
 */
final class Fields {
  private final JsonNode node;
  private final String path;
  private final Problems problems;
  private final Set<String> read = new HashSet<>();

  private Fields(JsonNode node, String path, Problems problems) {
    this.node = node;
    this.path = path;
    this.problems = problems;
  }

  /** The object at {@code path}, or empty (with an error) when the node is not an object. */
  static Optional<Fields> of(JsonNode node, String path, Problems problems) {
    if (node == null || node.isNull()) {
      return Optional.of(
          new Fields(
              com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(),
              path,
              problems));
    }
    if (!node.isObject()) {
      problems.error(path, describe(node) + " (expected: an object)");
      return Optional.empty();
    }
    return Optional.of(new Fields(node, path, problems));
  }

  String path() {
    return path;
  }

  String path(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  Problems problems() {
    return problems;
  }

  void error(String field, String message) {
    problems.error(field == null ? path : path(field), message);
  }

  void warning(String field, String message) {
    problems.warning(field == null ? path : path(field), message);
  }

  boolean has(String field) {
    JsonNode value = node.get(field);
    return value != null && !value.isNull();
  }

  boolean isEmpty() {
    return node.isEmpty();
  }

  private JsonNode take(String field) {
    read.add(field);
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value;
  }

  Optional<String> string(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isTextual()) {
      error(field, describe(value) + " (expected: a string)");
      return Optional.empty();
    }
    return Optional.of(value.asText());
  }

  /** A string that must be present and not empty. */
  Optional<String> requiredString(String field) {
    Optional<String> value = string(field);
    if (value.isEmpty() && !has(field)) {
      error(field, "missing (expected: a string)");
    } else if (value.isPresent() && value.get().isEmpty()) {
      error(field, "'' (expected: a non-empty string)");
      return Optional.empty();
    }
    return value;
  }

  Optional<Boolean> bool(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isBoolean()) {
      error(field, describe(value) + " (expected: true or false)");
      return Optional.empty();
    }
    return Optional.of(value.booleanValue());
  }

  /** A whole number within {@code [min, max]}. */
  Optional<Long> integer(String field, long min, long max) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      error(field, describe(value) + " (expected: a whole number)");
      return Optional.empty();
    }
    long number = value.longValue();
    if (number < min || number > max) {
      error(field, number + " (expected: " + range(min, max) + ")");
      return Optional.empty();
    }
    return Optional.of(number);
  }

  Optional<Integer> int32(String field, int min, int max) {
    return integer(field, min, max).map(Long::intValue);
  }

  /** A number (whole or not) within {@code [min, max]}. */
  Optional<Double> number(String field, double min, double max) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isNumber()) {
      error(field, describe(value) + " (expected: a number)");
      return Optional.empty();
    }
    double number = value.doubleValue();
    if (number < min || number > max || Double.isNaN(number)) {
      error(field, value.asText() + " (expected: " + min + ".." + max + ")");
      return Optional.empty();
    }
    return Optional.of(number);
  }

  /** A duration such as {@code 1.5s} or {@code 250ms}; never negative, above {@code min}. */
  Optional<Duration> duration(String field, Duration min) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    Optional<Duration> duration =
        value.isTextual() ? PolicyDurations.parse(value.asText()) : Optional.empty();
    if (duration.isEmpty()) {
      error(
          field,
          describe(value)
              + " (expected: a duration such as 500ms, 1.5s or 1m"
              + (value.asText().startsWith("-") ? ", not negative" : "")
              + ")");
      return Optional.empty();
    }
    if (duration.get().compareTo(min) < 0) {
      error(field, value.asText() + " (expected: at least " + PolicyDurations.format(min) + ")");
      return Optional.empty();
    }
    return duration;
  }

  /** A value from a fixed set, compared exactly (Istio's enums are upper case). */
  Optional<String> oneOf(String field, String... allowed) {
    Optional<String> value = string(field);
    if (value.isPresent() && !Arrays.asList(allowed).contains(value.get())) {
      error(field, "'" + value.get() + "' (expected: one of " + String.join(", ", allowed) + ")");
      return Optional.empty();
    }
    return value;
  }

  /** A regular expression (RE2 as Istio and Envoy use it, checked with Java's syntax). */
  Optional<String> regex(String field) {
    Optional<String> value = string(field);
    if (value.isPresent()) {
      try {
        Pattern.compile(value.get());
      } catch (PatternSyntaxException e) {
        error(
            field,
            "'" + value.get() + "' (expected: a regular expression: " + e.getDescription() + ")");
        return Optional.empty();
      }
    }
    return value;
  }

  Optional<Fields> object(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    return of(value, path(field), problems);
  }

  /** A list of objects, each at {@code field[i]}. */
  List<Fields> objects(String field) {
    JsonNode value = take(field);
    List<Fields> result = new ArrayList<>();
    if (value == null) {
      return result;
    }
    if (!value.isArray()) {
      error(field, describe(value) + " (expected: a list)");
      return result;
    }
    for (int i = 0; i < value.size(); i++) {
      of(value.get(i), path(field) + "[" + i + "]", problems).ifPresent(result::add);
    }
    return result;
  }

  /** A list of objects parsed by {@code parser}; elements it rejects (null) are left out. */
  <T> List<T> list(String field, Function<Fields, T> parser) {
    List<T> result = new ArrayList<>();
    for (Fields element : objects(field)) {
      T parsed = parser.apply(element);
      if (parsed != null) {
        result.add(parsed);
      }
    }
    return result;
  }

  List<String> strings(String field) {
    JsonNode value = take(field);
    List<String> result = new ArrayList<>();
    if (value == null) {
      return result;
    }
    if (!value.isArray()) {
      error(field, describe(value) + " (expected: a list of strings)");
      return result;
    }
    for (int i = 0; i < value.size(); i++) {
      JsonNode element = value.get(i);
      if (element.isTextual()) {
        result.add(element.asText());
      } else {
        problems.error(path(field) + "[" + i + "]", describe(element) + " (expected: a string)");
      }
    }
    return result;
  }

  /** A map of string values, such as labels. */
  Map<String, String> stringMap(String field) {
    Map<String, String> result = new LinkedHashMap<>();
    JsonNode value = take(field);
    if (value == null) {
      return result;
    }
    if (!value.isObject()) {
      error(field, describe(value) + " (expected: a map of strings)");
      return result;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (entry.getValue().isTextual()) {
        result.put(entry.getKey(), entry.getValue().asText());
      } else {
        problems.error(
            path(field) + "." + entry.getKey(),
            describe(entry.getValue()) + " (expected: a string; quote numbers and booleans)");
      }
    }
    return result;
  }

  /** A map whose values are objects, each at {@code field.key}. */
  Map<String, Fields> objectMap(String field) {
    Map<String, Fields> result = new LinkedHashMap<>();
    JsonNode value = take(field);
    if (value == null) {
      return result;
    }
    if (!value.isObject()) {
      error(field, describe(value) + " (expected: a map)");
      return result;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      of(entry.getValue(), path(field) + "." + entry.getKey(), problems)
          .ifPresent(fields -> result.put(entry.getKey(), fields));
    }
    return result;
  }

  /** The raw node of a field, for shapes the typed readers do not cover. */
  Optional<JsonNode> raw(String field) {
    return Optional.ofNullable(take(field));
  }

  /** A field this implementation knows but does not enforce: an error when it is set. */
  void unsupported(String field) {
    unsupported(field, "");
  }

  void unsupported(String field, String why) {
    if (take(field) != null) {
      error(field, "not supported" + (why.isEmpty() ? "" : " (" + why + ")"));
    }
  }

  /** Fields accepted and deliberately without effect (documented as such). */
  void ignored(String... fields) {
    for (String field : fields) {
      take(field);
    }
  }

  /** At most one of {@code fields} may be set; returns how many are. */
  int exclusive(String... fields) {
    List<String> set = new ArrayList<>();
    for (String field : fields) {
      if (has(field)) {
        set.add(field);
      }
    }
    if (set.size() > 1) {
      error(
          null,
          "sets "
              + String.join(" and ", set)
              + " (expected: at most one of "
              + String.join(", ", fields)
              + ")");
    }
    return set.size();
  }

  /** Reports every field that no reader asked for. */
  void end() {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!read.contains(name)) {
        error(name, "unknown field");
      }
    }
  }

  static String describe(JsonNode value) {
    if (value.isTextual()) {
      return "'" + value.asText() + "'";
    }
    if (value.isObject()) {
      return "an object";
    }
    if (value.isArray()) {
      return "a list";
    }
    return value.asText();
  }

  private static String range(long min, long max) {
    if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) {
      return ">= " + min;
    }
    return min + ".." + max;
  }
}
