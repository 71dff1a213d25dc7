package dev.fedmesh.proxy.match;

import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * An Envoy {@code StringMatcher} compiled once (regex included), for every place config matches a
 * string: route headers, RBAC principals, paths and headers. {@code ignore_case} applies to exact,
 * prefix, suffix and contains, as in Envoy; a regex is matched against the whole value.
 */
public final class StringMatch {
  private final Predicate<String> test;

  private StringMatch(Predicate<String> test) {
    this.test = test;
  }

  /**
   * Compiles {@code matcher}.
   *
   * @throws IllegalArgumentException naming the problem when the matcher sets no pattern, a custom
   *     extension, or a regex that does not compile
   */
  public static StringMatch of(StringMatcher matcher) {
    boolean ignoreCase = matcher.getIgnoreCase();
    return switch (matcher.getMatchPatternCase()) {
      case EXACT -> {
        String exact = matcher.getExact();
        yield new StringMatch(ignoreCase ? exact::equalsIgnoreCase : exact::equals);
      }
      case PREFIX -> {
        String prefix = matcher.getPrefix();
        yield new StringMatch(v -> v.regionMatches(ignoreCase, 0, prefix, 0, prefix.length()));
      }
      case SUFFIX -> {
        String suffix = matcher.getSuffix();
        yield new StringMatch(
            v ->
                v.length() >= suffix.length()
                    && v.regionMatches(
                        ignoreCase, v.length() - suffix.length(), suffix, 0, suffix.length()));
      }
      case CONTAINS -> {
        String contains = lower(matcher.getContains(), ignoreCase);
        yield new StringMatch(v -> lower(v, ignoreCase).contains(contains));
      }
      case SAFE_REGEX -> {
        Pattern pattern = regex(matcher.getSafeRegex().getRegex());
        yield new StringMatch(v -> pattern.matcher(v).matches());
      }
      case CUSTOM ->
          throw new IllegalArgumentException(
              "string matcher: custom extension '"
                  + matcher.getCustom().getName()
                  + "' is not supported (expected: exact, prefix, suffix, contains or safe_regex)");
      default ->
          throw new IllegalArgumentException(
              "string matcher: no pattern (expected: exact, prefix, suffix, contains or"
                  + " safe_regex)");
    };
  }

  /** Compiles a regex from config, naming it when it does not compile. */
  static Pattern regex(String regex) {
    try {
      return Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "safe_regex '" + regex + "': " + e.getDescription() + " (expected: a valid regex)");
    }
  }

  private static String lower(String value, boolean ignoreCase) {
    return ignoreCase ? value.toLowerCase(Locale.ROOT) : value;
  }

  public boolean matches(String value) {
    return value != null && test.test(value);
  }
}
