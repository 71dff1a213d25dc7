package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.match.StringMatch;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;

/**
 * A route's {@code query_parameters} condition, as Envoy judges it: the first value the query gives
 * the parameter (not percent-decoded, as Envoy's route matching reads it) must satisfy the string
 * matcher; with {@code present_match} the parameter need only be there.
 */
final class QueryParameterMatch {
  private final String name;
  private final StringMatch value; // null: presence is enough

  private QueryParameterMatch(String name, StringMatch value) {
    this.name = name;
    this.value = value;
  }

  /**
   * Compiles {@code matcher}.
   *
   * @param field the config field, named in errors
   * @throws IllegalArgumentException naming the field and the expectation
   */
  static QueryParameterMatch of(QueryParameterMatcher matcher, String field) {
    if (matcher.getName().isEmpty()) {
      throw new IllegalArgumentException(field + ".name: empty (expected: a parameter name)");
    }
    return switch (matcher.getQueryParameterMatchSpecifierCase()) {
      case STRING_MATCH -> {
        try {
          yield new QueryParameterMatch(
              matcher.getName(), StringMatch.of(matcher.getStringMatch()));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(field + ".string_match: " + e.getMessage(), e);
        }
      }
      // Envoy checks presence whatever the flag's value.
      case PRESENT_MATCH -> new QueryParameterMatch(matcher.getName(), null);
      default ->
          throw new IllegalArgumentException(
              field
                  + " '"
                  + matcher.getName()
                  + "': no condition (expected: string_match or present_match)");
    };
  }

  /** Whether {@code path} (with its query) satisfies this condition. */
  boolean matches(String path) {
    String found = firstValue(path, name);
    return found != null && (value == null || value.matches(found));
  }

  /**
   * The first value of query parameter {@code name} in {@code path}: "" for a parameter without
   * {@code =}, null when absent. Read as Envoy's {@code parseQueryString} reads it: after the first
   * {@code ?}, up to any {@code #}, split on {@code &}, not decoded.
   */
  static String firstValue(String path, String name) {
    int start = path.indexOf('?');
    if (start < 0) {
      return null;
    }
    start++;
    int end = path.indexOf('#', start);
    if (end < 0) {
      end = path.length();
    }
    while (start < end) {
      int amp = path.indexOf('&', start);
      int paramEnd = amp < 0 || amp > end ? end : amp;
      int eq = path.indexOf('=', start);
      int keyEnd = eq < 0 || eq > paramEnd ? paramEnd : eq;
      if (keyEnd - start == name.length() && path.startsWith(name, start)) {
        return keyEnd == paramEnd ? "" : path.substring(keyEnd + 1, paramEnd);
      }
      start = paramEnd + 1;
    }
    return null;
  }
}
