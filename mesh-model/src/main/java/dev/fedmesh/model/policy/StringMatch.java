package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * Istio's {@code StringMatch}: exactly one of {@code exact}, {@code prefix} or {@code regex} (RE2,
 * matching the whole value).
 */
public record StringMatch(Type type, String value) {
  public enum Type {
    EXACT,
    PREFIX,
    REGEX
  }

  public StringMatch {
    requireNonNull(type, "type");
    requireNonNull(value, "value");
  }

  static Optional<StringMatch> parse(Fields fields) {
    int set = fields.exclusive("exact", "prefix", "regex");
    if (set == 0) {
      fields.error(null, "empty (expected: one of exact, prefix, regex)");
    }
    Optional<String> exact = fields.string("exact");
    Optional<String> prefix = fields.string("prefix");
    Optional<String> regex = fields.regex("regex");
    fields.end();
    if (set != 1) {
      return Optional.empty();
    }
    return exact
        .map(v -> new StringMatch(Type.EXACT, v))
        .or(() -> prefix.map(v -> new StringMatch(Type.PREFIX, v)))
        .or(() -> regex.map(v -> new StringMatch(Type.REGEX, v)));
  }
}
