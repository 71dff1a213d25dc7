package dev.fedmesh.proxy.http;

/**
 * An absolute-form request target ({@code http://host:port/path?query}, RFC 9112 §3.2.2), as a
 * client configured with an HTTP proxy sends it: split into the authority and the path with its
 * query, in one pass and without {@link java.net.URI} (which builds a dozen strings per request).
 *
 * <p>What it refuses, each with the reason: a scheme other than http or https, an empty authority,
 * userinfo in the authority (RFC 9110 §4.2.4: a recipient treats it as an error), a fragment, and
 * any character outside RFC 3986's set for the part it is in.
 */
record AbsoluteTarget(String authority, String path) {

  /** Whether {@code target} is in absolute form (starts with a scheme and "://"). */
  static boolean isAbsolute(String target) {
    return startsWithIgnoreCase(target, "http://") || startsWithIgnoreCase(target, "https://");
  }

  /**
   * Splits {@code target}, which {@link #isAbsolute} accepted; an empty path becomes "/".
   *
   * @throws IllegalArgumentException naming what is wrong with the target
   */
  static AbsoluteTarget parse(String target) {
    int separator = target.indexOf("://");
    if (separator < 0) {
      throw new IllegalArgumentException("not in absolute form (expected scheme://authority/path)");
    }
    int authorityStart = separator + 3;
    String scheme = target.substring(0, authorityStart - 3);
    if (!scheme.equalsIgnoreCase("http") && !scheme.equalsIgnoreCase("https")) {
      throw new IllegalArgumentException("scheme '" + scheme + "' (expected http or https)");
    }
    int authorityEnd = authorityStart;
    while (authorityEnd < target.length()) {
      char c = target.charAt(authorityEnd);
      if (c == '/' || c == '?' || c == '#') {
        break;
      }
      if (c == '@') {
        throw new IllegalArgumentException("userinfo in the authority is not allowed");
      }
      if (!isAuthorityChar(c)) {
        throw new IllegalArgumentException(
            "character " + describe(c) + " is not allowed in the authority");
      }
      checkEscape(target, authorityEnd);
      authorityEnd++;
    }
    if (authorityEnd == authorityStart) {
      throw new IllegalArgumentException("the authority is empty");
    }
    for (int i = authorityEnd; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c == '#') {
        throw new IllegalArgumentException("a fragment is not allowed in a request target");
      }
      if (!isPathOrQueryChar(c)) {
        throw new IllegalArgumentException(
            "character " + describe(c) + " is not allowed in the path or query");
      }
      checkEscape(target, i);
    }
    String authority = target.substring(authorityStart, authorityEnd);
    String rest = target.substring(authorityEnd);
    return new AbsoluteTarget(
        authority, rest.isEmpty() || rest.charAt(0) == '?' ? "/" + rest : rest);
  }

  /** A '%' at {@code i} must start a percent-encoded octet: two hex digits. */
  private static void checkEscape(String target, int i) {
    if (target.charAt(i) == '%'
        && (i + 2 >= target.length()
            || Character.digit(target.charAt(i + 1), 16) < 0
            || Character.digit(target.charAt(i + 2), 16) < 0)) {
      throw new IllegalArgumentException(
          "'%' at index " + i + " does not start a percent-encoded octet (expected %XX, hex)");
    }
  }

  private static boolean startsWithIgnoreCase(String text, String prefix) {
    return text.regionMatches(true, 0, prefix, 0, prefix.length());
  }

  /** RFC 3986 host (reg-name, IPv4, IP-literal) and port characters. */
  private static boolean isAuthorityChar(char c) {
    return PathNormalizer.unreserved(c)
        || isSubDelim(c)
        || c == '%'
        || c == ':'
        || c == '['
        || c == ']';
  }

  /** RFC 3986 pchar, plus '/' and '?' (path segments and the query). */
  private static boolean isPathOrQueryChar(char c) {
    return PathNormalizer.unreserved(c)
        || isSubDelim(c)
        || c == '%'
        || c == ':'
        || c == '@'
        || c == '/'
        || c == '?';
  }

  private static boolean isSubDelim(char c) {
    return switch (c) {
      case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=' -> true;
      default -> false;
    };
  }

  private static String describe(char c) {
    return c < 0x21 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
  }
}
