package dev.fedmesh.proxy.match;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * An Envoy {@code HeaderMatcher} compiled once: the value test (exact, prefix, suffix, contains,
 * regex, string matcher, range, presence) with {@code invert_match} and {@code
 * treat_missing_header_as_empty} as Envoy applies them. The caller looks the header up; a header
 * sent several times is matched as its values joined by commas, as Envoy does.
 */
public final class HeaderMatch {
  private final HeaderMatcher matcher;
  private final Predicate<String> test;

  private HeaderMatch(HeaderMatcher matcher, Predicate<String> test) {
    this.matcher = matcher;
    this.test = test;
  }

  /**
   * Compiles {@code matcher}.
   *
   * @throws IllegalArgumentException naming the header and the problem
   */
  public static HeaderMatch of(HeaderMatcher matcher) {
    try {
      return new HeaderMatch(matcher, test(matcher));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "header '" + matcher.getName() + "': " + e.getMessage(), e);
    }
  }

  private static Predicate<String> test(HeaderMatcher matcher) {
    return switch (matcher.getHeaderMatchSpecifierCase()) {
      case EXACT_MATCH -> matcher.getExactMatch()::equals;
      case PREFIX_MATCH -> v -> v.startsWith(matcher.getPrefixMatch());
      case SUFFIX_MATCH -> v -> v.endsWith(matcher.getSuffixMatch());
      case CONTAINS_MATCH -> v -> v.contains(matcher.getContainsMatch());
      case SAFE_REGEX_MATCH -> {
        Pattern pattern = StringMatch.regex(matcher.getSafeRegexMatch().getRegex());
        yield v -> pattern.matcher(v).matches();
      }
      case STRING_MATCH -> StringMatch.of(matcher.getStringMatch())::matches;
      case RANGE_MATCH -> {
        long start = matcher.getRangeMatch().getStart();
        long end = matcher.getRangeMatch().getEnd();
        yield v -> {
          try {
            long n = Long.parseLong(v.trim());
            return n >= start && n < end;
          } catch (NumberFormatException e) {
            return false;
          }
        };
      }
      case PRESENT_MATCH, HEADERMATCHSPECIFIER_NOT_SET -> v -> true;
      default ->
          throw new IllegalArgumentException(
              "match " + matcher.getHeaderMatchSpecifierCase() + " is not supported");
    };
  }

  public String name() {
    return matcher.getName();
  }

  /**
   * Whether the header matches.
   *
   * @param value the header's value, or null when the request does not carry it
   */
  public boolean matches(String value) {
    if (matcher.hasPresentMatch()) {
      return ((value != null) == matcher.getPresentMatch()) != matcher.getInvertMatch();
    }
    if (value == null) {
      if (!matcher.getTreatMissingHeaderAsEmpty()) {
        return false; // an absent header matches nothing, inverted or not
      }
      value = "";
    }
    return test.test(value) != matcher.getInvertMatch();
  }
}
