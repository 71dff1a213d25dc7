package dev.fedmesh.proxy.http;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.PathWithEscapedSlashesAction;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Puts a request path in one canonical form before anything matches it, and forwards it in that
 * form, so that a policy on {@code /admin} cannot be walked around with {@code //admin}, {@code
 * /a/../admin}, {@code /%61dmin}, {@code /%2Fadmin} or {@code /\admin} (Istio's CVE-2021-31920
 * class of bypass). The steps, as Envoy's HTTP connection manager takes them:
 *
 * <ol>
 *   <li>the fragment is dropped (a client should not send one; if it does, it is not the path);
 *   <li>escaped slashes ({@code %2F}, {@code %5C}) are kept, refused or decoded, per {@code
 *       path_with_escaped_slashes_action};
 *   <li>with {@code normalize_path}: escaped unreserved characters are decoded, other escapes
 *       upper-cased, a backslash becomes a slash, and dot segments are resolved (RFC 3986 §6.2.2);
 *       a malformed escape refuses the request;
 *   <li>with {@code merge_slashes}: runs of slashes become one.
 * </ol>
 *
 * The query is left as sent. Unlike Envoy, fedmesh normalizes, merges and decodes escaped slashes
 * when the config does not say (Envoy's defaults keep all three off): safe unless asked otherwise;
 * turning normalization off takes {@code normalize_path: false}.
 */
final class PathNormalizer {
  /** What to do with {@code %2F} and {@code %5C} (Envoy's names). */
  enum EscapedSlashes {
    KEEP_UNCHANGED,
    REJECT_REQUEST,
    UNESCAPE_AND_REDIRECT,
    UNESCAPE_AND_FORWARD
  }

  /** The settings, from an HTTP connection manager or the defaults. */
  record Options(boolean normalize, boolean mergeSlashes, EscapedSlashes escapedSlashes) {
    static final Options DEFAULT = new Options(true, true, EscapedSlashes.UNESCAPE_AND_FORWARD);

    static Options of(HttpConnectionManager manager) {
      // merge_slashes is a plain bool: "false" and "unset" look the same, so slashes are merged
      // whenever the path is normalized, and when merge_slashes says so.
      boolean normalize = !manager.hasNormalizePath() || manager.getNormalizePath().getValue();
      return new Options(
          normalize,
          normalize || manager.getMergeSlashes(),
          escaped(manager.getPathWithEscapedSlashesAction()));
    }

    private static EscapedSlashes escaped(PathWithEscapedSlashesAction action) {
      return switch (action) {
        case KEEP_UNCHANGED -> EscapedSlashes.KEEP_UNCHANGED;
        case REJECT_REQUEST -> EscapedSlashes.REJECT_REQUEST;
        case UNESCAPE_AND_REDIRECT -> EscapedSlashes.UNESCAPE_AND_REDIRECT;
        default -> EscapedSlashes.UNESCAPE_AND_FORWARD;
      };
    }
  }

  /** The outcome for one path. */
  sealed interface Result permits Normalized, Redirect, Rejected {}

  /** Forward with this path (and query). */
  record Normalized(String path) implements Result {}

  /** Answer with a redirect to this path: it had escaped slashes and the config asks so. */
  record Redirect(String location) implements Result {}

  /** Answer 400: the path cannot be made canonical. */
  record Rejected(String reason) implements Result {}

  private PathNormalizer() {}

  /**
   * Normalizes an origin-form request target ({@code path?query#fragment}).
   *
   * @param target starts with '/' or is '*'
   */
  static Result normalize(String target, Options options) {
    int hash = target.indexOf('#');
    if (hash >= 0) {
      target = target.substring(0, hash);
    }
    int q = target.indexOf('?');
    String path = q >= 0 ? target.substring(0, q) : target;
    String query = q >= 0 ? target.substring(q) : "";
    if (path.equals("*")) {
      return new Normalized(target);
    }
    if (!path.startsWith("/")) {
      return new Rejected("path '" + path + "' does not start with '/'");
    }
    if (canonical(path)) {
      return new Normalized(target); // the usual path: every step below would leave it as it is
    }
    boolean escapedSlash = hasEscapedSlash(path);
    if (escapedSlash) {
      switch (options.escapedSlashes()) {
        case REJECT_REQUEST -> {
          return new Rejected("path has an escaped slash (%2F or %5C)");
        }
        case KEEP_UNCHANGED -> {}
        case UNESCAPE_AND_REDIRECT, UNESCAPE_AND_FORWARD -> path = unescapeSlashes(path);
      }
    }
    if (options.normalize()) {
      StringBuilder decoded = new StringBuilder(path.length());
      for (int i = 0; i < path.length(); i++) {
        char c = path.charAt(i);
        if (c == '%') {
          if (i + 2 >= path.length()
              || hex(path.charAt(i + 1)) < 0
              || hex(path.charAt(i + 2)) < 0) {
            return new Rejected("path has a malformed percent-escape at offset " + i);
          }
          char value = (char) (hex(path.charAt(i + 1)) * 16 + hex(path.charAt(i + 2)));
          if (unreserved(value)) {
            decoded.append(value);
          } else {
            decoded.append('%').append(upper(path.charAt(i + 1))).append(upper(path.charAt(i + 2)));
          }
          i += 2;
        } else if (c == '\\') {
          decoded.append('/');
        } else {
          decoded.append(c);
        }
      }
      path = removeDotSegments(decoded.toString());
    }
    if (options.mergeSlashes()) {
      path = mergeSlashes(path);
    }
    if (escapedSlash && options.escapedSlashes() == EscapedSlashes.UNESCAPE_AND_REDIRECT) {
      return new Redirect(path + query);
    }
    return new Normalized(path + query);
  }

  /**
   * Whether no step can change {@code path}, whatever the options: it has no escape, no backslash,
   * no empty segment and no dot segment.
   */
  static boolean canonical(String path) {
    int length = path.length();
    for (int i = 0; i < length; i++) {
      char c = path.charAt(i);
      if (c == '%' || c == '\\') {
        return false;
      }
      if (c == '/' && i + 1 < length) {
        char next = path.charAt(i + 1);
        if (next == '/') {
          return false;
        }
        if (next == '.' && (dotSegmentEnd(path, i + 2) || dotDotSegment(path, i + 2))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether a segment that began with one dot ends at {@code i}. */
  private static boolean dotSegmentEnd(String path, int i) {
    return i == path.length() || path.charAt(i) == '/';
  }

  /** Whether a segment that began with one dot is "..", its second dot at {@code i}. */
  private static boolean dotDotSegment(String path, int i) {
    return i < path.length() && path.charAt(i) == '.' && dotSegmentEnd(path, i + 1);
  }

  private static boolean hasEscapedSlash(String path) {
    for (int i = 0; i + 2 < path.length(); i++) {
      if (path.charAt(i) == '%') {
        char a = path.charAt(i + 1);
        char b = Character.toUpperCase(path.charAt(i + 2));
        if ((a == '2' && b == 'F') || (a == '5' && b == 'C')) {
          return true;
        }
      }
    }
    return false;
  }

  private static String unescapeSlashes(String path) {
    StringBuilder out = new StringBuilder(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%' && i + 2 < path.length()) {
        char a = path.charAt(i + 1);
        char b = Character.toUpperCase(path.charAt(i + 2));
        if (a == '2' && b == 'F') {
          out.append('/');
          i += 2;
          continue;
        }
        if (a == '5' && b == 'C') {
          out.append('\\');
          i += 2;
          continue;
        }
      }
      out.append(c);
    }
    return out.toString();
  }

  /** RFC 3986 §5.2.4, on a path that starts with '/'. */
  static String removeDotSegments(String path) {
    Deque<String> out = new ArrayDeque<>();
    String[] segments = path.substring(1).split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      String segment = segments[i];
      boolean last = i == segments.length - 1;
      if (segment.equals(".")) {
        if (last) {
          out.addLast("");
        }
      } else if (segment.equals("..")) {
        out.pollLast();
        if (last) {
          out.addLast("");
        }
      } else {
        out.addLast(segment);
      }
    }
    return "/" + String.join("/", out);
  }

  private static String mergeSlashes(String path) {
    if (!path.contains("//")) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '/' && out.length() > 0 && out.charAt(out.length() - 1) == '/') {
        continue;
      }
      out.append(c);
    }
    return out.toString();
  }

  /** RFC 3986's unreserved characters: letters, digits, '-', '.', '_' and '~'. */
  static boolean unreserved(char c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '~';
  }

  private static int hex(char c) {
    return Character.digit(c, 16);
  }

  private static char upper(char c) {
    return Character.toUpperCase(c);
  }
}
