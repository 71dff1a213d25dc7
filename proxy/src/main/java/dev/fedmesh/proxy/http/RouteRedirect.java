package dev.fedmesh.proxy.http;

import io.envoyproxy.envoy.config.route.v3.RedirectAction;

/**
 * A route's {@code redirect}, compiled: the request is answered with a 3xx whose {@code Location}
 * is built as Envoy builds it. Scheme: {@code scheme_redirect}, {@code https_redirect}, else the
 * request's. Host: {@code host_redirect}, else the request's, without its port when {@code
 * port_redirect} replaces it or when the scheme changes from the one the port is the default of.
 * Path: {@code path_redirect} (keeping the request's query unless it has its own), else the
 * request's path after {@code prefix_rewrite} or {@code regex_rewrite}; {@code strip_query} drops
 * the query unless {@code path_redirect} brought one.
 */
final class RouteRedirect {
  private final String scheme; // null: the request's
  private final String host; // empty: the request's
  private final int port; // 0: unchanged
  private final String path; // empty: the request's, rewritten
  private final boolean pathHasQuery;
  private final String prefixRewrite;
  private final RegexRewrite regexRewrite;
  private final boolean stripQuery;
  private final int status;

  private RouteRedirect(
      String scheme,
      String host,
      int port,
      String path,
      String prefixRewrite,
      RegexRewrite regexRewrite,
      boolean stripQuery,
      int status) {
    this.scheme = scheme;
    this.host = host;
    this.port = port;
    this.path = path;
    this.pathHasQuery = path.indexOf('?') >= 0;
    this.prefixRewrite = prefixRewrite;
    this.regexRewrite = regexRewrite;
    this.stripQuery = stripQuery;
    this.status = status;
  }

  /**
   * Compiles {@code redirect}.
   *
   * @param field the config field, named in errors (e.g. {@code routes[1].redirect})
   * @throws IllegalArgumentException naming the field and the expectation
   */
  static RouteRedirect of(RedirectAction redirect, String field) {
    String scheme =
        switch (redirect.getSchemeRewriteSpecifierCase()) {
          case SCHEME_REDIRECT -> redirect.getSchemeRedirect();
          case HTTPS_REDIRECT -> redirect.getHttpsRedirect() ? "https" : null;
          default -> null;
        };
    if (scheme != null && scheme.isEmpty()) {
      scheme = null;
    }
    int status =
        switch (redirect.getResponseCode()) {
          case MOVED_PERMANENTLY -> 301;
          case FOUND -> 302;
          case SEE_OTHER -> 303;
          case TEMPORARY_REDIRECT -> 307;
          case PERMANENT_REDIRECT -> 308;
          default ->
              throw new IllegalArgumentException(
                  field
                      + ".response_code: "
                      + redirect.getResponseCodeValue()
                      + " (expected: MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT or"
                      + " PERMANENT_REDIRECT)");
        };
    if (redirect.getPortRedirect() > 65535) {
      throw new IllegalArgumentException(
          field + ".port_redirect: " + redirect.getPortRedirect() + " (expected: 0..65535)");
    }
    RegexRewrite regex =
        redirect.hasRegexRewrite()
            ? RegexRewrite.of(redirect.getRegexRewrite(), field + ".regex_rewrite")
            : null;
    return new RouteRedirect(
        scheme,
        redirect.getHostRedirect(),
        redirect.getPortRedirect(),
        redirect.getPathRedirect(),
        redirect.getPrefixRewrite(),
        regex,
        redirect.getStripQuery(),
        status);
  }

  int status() {
    return status;
  }

  /**
   * The {@code Location} for a request.
   *
   * @param requestScheme {@code http} or {@code https}, as the request arrived
   * @param authority the request's Host / {@code :authority}
   * @param requestPath the request's path with its query
   * @param matchedLength how much of the path the route's match consumed, for {@code
   *     prefix_rewrite}
   */
  String location(String requestScheme, String authority, String requestPath, int matchedLength) {
    String newScheme = scheme != null ? scheme : requestScheme;
    String newPath;
    if (!path.isEmpty()) {
      int query = requestPath.indexOf('?');
      newPath = pathHasQuery || query < 0 ? path : path + requestPath.substring(query);
    } else if (!prefixRewrite.isEmpty()) {
      newPath = prefixRewrite + requestPath.substring(matchedLength);
    } else if (regexRewrite != null) {
      newPath = regexRewrite.applyToPath(requestPath);
    } else {
      newPath = requestPath;
    }
    if (!newPath.startsWith("/")) {
      newPath = "/" + newPath;
    }
    if (stripQuery && !pathHasQuery) {
      int query = newPath.indexOf('?');
      if (query >= 0) {
        newPath = newPath.substring(0, query);
      }
    }
    String newHost = !host.isEmpty() ? host : requestHost(authority, newScheme, requestScheme);
    StringBuilder location =
        new StringBuilder(newScheme.length() + newHost.length() + newPath.length() + 10)
            .append(newScheme)
            .append("://")
            .append(newHost);
    if (port != 0) {
      location.append(':').append(port);
    }
    return location.append(newPath).toString();
  }

  /** Envoy's {@code processRequestHost}: the request's host, its port dropped when it must go. */
  private String requestHost(String authority, String newScheme, String requestScheme) {
    int portStart;
    if (authority.startsWith("[")) {
      int close = authority.lastIndexOf("]:");
      portStart = close < 0 ? -1 : close + 1;
    } else {
      portStart = authority.lastIndexOf(':');
    }
    if (portStart < 0) {
      return authority;
    }
    String requestPort = authority.substring(portStart);
    boolean remove = port != 0;
    if (!newScheme.equals(requestScheme)) {
      remove |= requestScheme.equals("https") && requestPort.equals(":443");
      remove |= requestScheme.equals("http") && requestPort.equals(":80");
    }
    return remove ? authority.substring(0, portStart) : authority;
  }
}
