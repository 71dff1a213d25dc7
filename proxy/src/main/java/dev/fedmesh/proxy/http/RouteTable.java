package dev.fedmesh.proxy.http;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.match.HeaderMatch;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * A route configuration compiled for matching. Virtual hosts are found as Envoy finds them: an
 * exact domain, then the longest {@code *.suffix}, then the longest {@code prefix.*}, then {@code
 * *}; the authority is tried with its port, then without, before {@code *} takes it. Within a
 * virtual host the first route whose path, header, query parameter and method conditions all hold
 * wins. Everything a route decides is compiled with the config, so that matching a request builds
 * nothing from protos.
 */
public final class RouteTable {
  static final RouteTable EMPTY = new RouteTable(RouteConfiguration.getDefaultInstance());

  /**
   * What a matched route says to do with a request; one per route (per cluster of a weighted
   * route), made with the config.
   *
   * @param prefixLength how much of the path the route's match consumed, for {@code
   *     prefix_rewrite}: the prefix's length, or -1 for the whole path without its query (a {@code
   *     path} or {@code safe_regex} match)
   * @param redirect the route's redirect, else null
   * @param requestHeaders the header mutations for the upstream request, every level in Envoy's
   *     order
   * @param responseHeaders the header mutations for the response, upstream's or the route's own
   */
  record Decision(
      String cluster,
      long timeoutMillis,
      RetryRules retry,
      int prefixLength,
      String prefixRewrite,
      RegexRewrite regexRewrite,
      String hostRewrite,
      int directStatus,
      String directBody,
      FaultInjection fault,
      RouteRedirect redirect,
      HeaderMutations requestHeaders,
      HeaderMutations responseHeaders,
      RequestHash hash) {
    boolean direct() {
      return directStatus > 0;
    }

    /** The path to send upstream: {@code prefix_rewrite} or {@code regex_rewrite} applied. */
    String rewritePath(String path) {
      if (!prefixRewrite.isEmpty()) {
        int matched = matchedLength(path);
        return matched <= path.length() ? prefixRewrite + path.substring(matched) : path;
      }
      return regexRewrite == null ? path : regexRewrite.applyToPath(path);
    }

    /** How many characters of {@code path} the route's match consumed. */
    int matchedLength(String path) {
      if (prefixLength >= 0) {
        return prefixLength;
      }
      int query = path.indexOf('?');
      return query >= 0 ? query : path.length();
    }
  }

  /**
   * @param decisions one decision, or one per weighted cluster
   * @param weights the cumulative weights of a weighted route, else null
   */
  private record CompiledRoute(
      Route route,
      Pattern regex,
      HeaderMatch[] headers,
      QueryParameterMatch[] queryParameters,
      List<Optional<Decision>> decisions,
      long[] weights) {}

  private record CompiledHost(VirtualHost host, List<CompiledRoute> routes) {}

  /** What a virtual host gives each of its routes. */
  private record HostParts(
      FaultInjection fault,
      RetryRules retry,
      HeaderMutations.Level requestHeaders,
      HeaderMutations.Level responseHeaders) {}

  private final Map<String, CompiledHost> exact = new HashMap<>();
  private final List<Map.Entry<String, CompiledHost>> suffixes = new ArrayList<>();
  private final List<Map.Entry<String, CompiledHost>> prefixes = new ArrayList<>();
  private CompiledHost any;
  private final String name;

  /**
   * Compiles {@code config}.
   *
   * @throws IllegalArgumentException when the config has a problem {@link #problems} reports
   */
  RouteTable(RouteConfiguration config) {
    this.name = config.getName();
    HeaderMutations.Level[] global = globalLevels(config);
    for (VirtualHost host : config.getVirtualHostsList()) {
      HostParts parts = hostParts(host);
      List<CompiledRoute> routes = new ArrayList<>();
      for (int r = 0; r < host.getRoutesCount(); r++) {
        routes.add(compile(config, global, parts, host.getRoutes(r), "routes[" + r + "]"));
      }
      CompiledHost compiled = new CompiledHost(host, List.copyOf(routes));
      for (String domain : host.getDomainsList()) {
        String d = domain.toLowerCase(Locale.ROOT);
        if (d.equals("*")) {
          any = any == null ? compiled : any;
        } else if (d.startsWith("*")) {
          suffixes.add(Map.entry(d.substring(1), compiled));
        } else if (d.endsWith("*")) {
          prefixes.add(Map.entry(d.substring(0, d.length() - 1), compiled));
        } else {
          exact.putIfAbsent(d, compiled);
        }
      }
    }
    Comparator<Map.Entry<String, CompiledHost>> longestFirst =
        Comparator.comparingInt((Map.Entry<String, CompiledHost> e) -> e.getKey().length())
            .reversed();
    suffixes.sort(longestFirst);
    prefixes.sort(longestFirst);
  }

  /**
   * What in {@code config} this proxy cannot enforce as Envoy would, each naming the virtual host,
   * route and field and what was expected; empty when the whole configuration can be compiled.
   */
  public static List<String> problems(RouteConfiguration config) {
    List<String> problems = new ArrayList<>();
    HeaderMutations.Level[] global;
    try {
      global = globalLevels(config);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
      global =
          new HeaderMutations.Level[] {HeaderMutations.Level.EMPTY, HeaderMutations.Level.EMPTY};
    }
    for (VirtualHost host : config.getVirtualHostsList()) {
      String where = "virtual host '" + host.getName() + "' ";
      HostParts parts;
      try {
        parts = hostParts(host);
      } catch (IllegalArgumentException e) {
        problems.add(where + e.getMessage());
        parts =
            new HostParts(
                null, RetryRules.NONE, HeaderMutations.Level.EMPTY, HeaderMutations.Level.EMPTY);
      }
      for (int r = 0; r < host.getRoutesCount(); r++) {
        try {
          compile(config, global, parts, host.getRoutes(r), "routes[" + r + "]");
        } catch (IllegalArgumentException e) {
          problems.add(where + e.getMessage());
        }
      }
    }
    return problems;
  }

  String name() {
    return name;
  }

  private static HeaderMutations.Level[] globalLevels(RouteConfiguration config) {
    return new HeaderMutations.Level[] {
      HeaderMutations.level(
          config.getRequestHeadersToAddList(),
          "request_headers_to_add",
          config.getRequestHeadersToRemoveList(),
          "request_headers_to_remove"),
      HeaderMutations.level(
          config.getResponseHeadersToAddList(),
          "response_headers_to_add",
          config.getResponseHeadersToRemoveList(),
          "response_headers_to_remove")
    };
  }

  private static HostParts hostParts(VirtualHost host) {
    Any fault = host.getTypedPerFilterConfigMap().get(FaultInjection.FILTER);
    return new HostParts(
        fault == null ? null : FaultInjection.of(fault),
        host.hasRetryPolicy()
            ? RetryRules.of(host.getRetryPolicy(), "retry_policy")
            : RetryRules.NONE,
        HeaderMutations.level(
            host.getRequestHeadersToAddList(),
            "request_headers_to_add",
            host.getRequestHeadersToRemoveList(),
            "request_headers_to_remove"),
        HeaderMutations.level(
            host.getResponseHeadersToAddList(),
            "response_headers_to_add",
            host.getResponseHeadersToRemoveList(),
            "response_headers_to_remove"));
  }

  private static CompiledRoute compile(
      RouteConfiguration config,
      HeaderMutations.Level[] global,
      HostParts host,
      Route route,
      String at) {
    RouteMatch match = route.getMatch();
    Pattern regex = null;
    if (match.hasSafeRegex()) {
      try {
        regex = Pattern.compile(match.getSafeRegex().getRegex());
      } catch (java.util.regex.PatternSyntaxException e) {
        throw new IllegalArgumentException(
            "safe_regex '"
                + match.getSafeRegex().getRegex()
                + "' (expected: a valid regular expression)");
      }
    }
    HeaderMatch[] headers = new HeaderMatch[match.getHeadersCount()];
    for (int i = 0; i < headers.length; i++) {
      HeaderMatcher header = match.getHeaders(i);
      headers[i] = HeaderMatch.of(header);
    }
    QueryParameterMatch[] queries = new QueryParameterMatch[match.getQueryParametersCount()];
    for (int i = 0; i < queries.length; i++) {
      queries[i] =
          QueryParameterMatch.of(
              match.getQueryParameters(i), at + ".match.query_parameters[" + i + "]");
    }
    Any faultConfig = route.getTypedPerFilterConfigMap().get(FaultInjection.FILTER);
    FaultInjection fault;
    if (faultConfig != null) {
      try {
        fault = FaultInjection.of(faultConfig);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("route " + e.getMessage(), e);
      }
    } else {
      fault = host.fault();
    }
    HeaderMutations.Level routeRequest =
        HeaderMutations.level(
            route.getRequestHeadersToAddList(),
            at + ".request_headers_to_add",
            route.getRequestHeadersToRemoveList(),
            at + ".request_headers_to_remove");
    HeaderMutations.Level routeResponse =
        HeaderMutations.level(
            route.getResponseHeadersToAddList(),
            at + ".response_headers_to_add",
            route.getResponseHeadersToRemoveList(),
            at + ".response_headers_to_remove");
    boolean mostSpecificWins = config.getMostSpecificHeaderMutationsWins();
    Levels levels =
        new Levels(
            mostSpecificWins
                ? new HeaderMutations.Level[] {global[0], host.requestHeaders(), routeRequest}
                : new HeaderMutations.Level[] {routeRequest, host.requestHeaders(), global[0]},
            mostSpecificWins
                ? new HeaderMutations.Level[] {global[1], host.responseHeaders(), routeResponse}
                : new HeaderMutations.Level[] {routeResponse, host.responseHeaders(), global[1]});
    int prefixLength =
        switch (match.getPathSpecifierCase()) {
          case PREFIX -> match.getPrefix().length();
          case PATH_SEPARATED_PREFIX -> match.getPathSeparatedPrefix().length();
          default -> -1;
        };
    Decision[] decisions;
    long[] weights = null;
    switch (route.getActionCase()) {
      case DIRECT_RESPONSE ->
          decisions =
              new Decision[] {
                new Decision(
                    "",
                    0,
                    RetryRules.NONE,
                    prefixLength,
                    "",
                    null,
                    "",
                    route.getDirectResponse().getStatus(),
                    route.getDirectResponse().getBody().getInlineString(),
                    null,
                    null,
                    HeaderMutations.NONE,
                    levels.response(),
                    RequestHash.NONE)
              };
      case REDIRECT ->
          decisions =
              new Decision[] {
                new Decision(
                    "",
                    0,
                    RetryRules.NONE,
                    prefixLength,
                    "",
                    null,
                    "",
                    0,
                    "",
                    null,
                    RouteRedirect.of(route.getRedirect(), at + ".redirect"),
                    HeaderMutations.NONE,
                    levels.response(),
                    RequestHash.NONE)
              };
      case ROUTE -> {
        RouteAction action = route.getRoute();
        if (!action.getPrefixRewrite().isEmpty() && action.hasRegexRewrite()) {
          throw new IllegalArgumentException(
              at + ".route: prefix_rewrite and regex_rewrite both set (expected: at most one)");
        }
        RegexRewrite regexRewrite =
            action.hasRegexRewrite()
                ? RegexRewrite.of(action.getRegexRewrite(), at + ".route.regex_rewrite")
                : null;
        RequestHash hash = RequestHash.of(action.getHashPolicyList(), at + ".route.hash_policy");
        long timeout = action.hasTimeout() ? Durations.toMillis(action.getTimeout()) : 15_000;
        RetryRules retry =
            action.hasRetryPolicy()
                ? RetryRules.of(action.getRetryPolicy(), at + ".route.retry_policy")
                : host.retry();
        Decision template =
            new Decision(
                action.getCluster(),
                timeout,
                retry,
                prefixLength,
                action.getPrefixRewrite(),
                regexRewrite,
                action.getHostRewriteLiteral(),
                0,
                "",
                fault,
                null,
                levels.request(),
                levels.response(),
                hash);
        if (action.hasWeightedClusters()) {
          WeightedCluster weighted = action.getWeightedClusters();
          decisions = new Decision[weighted.getClustersCount()];
          weights = new long[decisions.length];
          long total = 0;
          for (int i = 0; i < decisions.length; i++) {
            WeightedCluster.ClusterWeight weight = weighted.getClusters(i);
            String w = at + ".route.weighted_clusters.clusters[" + i + "]";
            // Envoy applies a cluster's own mutations before the route's chain.
            decisions[i] =
                withCluster(
                    template,
                    weight.getName(),
                    levels.withFirst(
                        HeaderMutations.level(
                            weight.getRequestHeadersToAddList(),
                            w + ".request_headers_to_add",
                            weight.getRequestHeadersToRemoveList(),
                            w + ".request_headers_to_remove"),
                        HeaderMutations.level(
                            weight.getResponseHeadersToAddList(),
                            w + ".response_headers_to_add",
                            weight.getResponseHeadersToRemoveList(),
                            w + ".response_headers_to_remove")));
            total += weight.getWeight().getValue();
            weights[i] = total;
          }
          if (decisions.length == 0) {
            decisions = new Decision[] {withCluster(template, "", levels)};
            weights = null;
          } else if (total <= 0) {
            weights = null; // no weights: the first cluster, as before
          }
        } else if (action.getClusterSpecifierCase() == RouteAction.ClusterSpecifierCase.CLUSTER) {
          decisions = new Decision[] {template};
        } else {
          decisions = new Decision[] {withCluster(template, "", levels)};
        }
      }
      default -> decisions = new Decision[0]; // filter actions are not supported: no match
    }
    List<Optional<Decision>> made = new ArrayList<>(decisions.length);
    for (Decision decision : decisions) {
      made.add(Optional.of(decision));
    }
    return new CompiledRoute(route, regex, headers, queries, List.copyOf(made), weights);
  }

  /** The request and response mutations of one route, every level in order. */
  private record Levels(
      HeaderMutations.Level[] requestLevels, HeaderMutations.Level[] responseLevels) {
    HeaderMutations request() {
      return HeaderMutations.of(requestLevels);
    }

    HeaderMutations response() {
      return HeaderMutations.of(responseLevels);
    }

    Levels withFirst(HeaderMutations.Level request, HeaderMutations.Level response) {
      return new Levels(prepend(request, requestLevels), prepend(response, responseLevels));
    }

    private static HeaderMutations.Level[] prepend(
        HeaderMutations.Level first, HeaderMutations.Level[] rest) {
      HeaderMutations.Level[] all = new HeaderMutations.Level[rest.length + 1];
      all[0] = first;
      System.arraycopy(rest, 0, all, 1, rest.length);
      return all;
    }
  }

  private static Decision withCluster(Decision d, String cluster, Levels levels) {
    return new Decision(
        cluster,
        d.timeoutMillis(),
        d.retry(),
        d.prefixLength(),
        d.prefixRewrite(),
        d.regexRewrite(),
        d.hostRewrite(),
        d.directStatus(),
        d.directBody(),
        d.fault(),
        d.redirect(),
        levels.request(),
        levels.response(),
        d.hash());
  }

  /**
   * The decision for a request, or empty when no virtual host or route matches (Envoy's 404).
   *
   * @param authority the Host header or {@code :authority}
   * @param path the origin-form path with query
   */
  Optional<Decision> route(String authority, HttpMethod method, String path, HttpHeaders headers) {
    CompiledHost host = host(authority.toLowerCase(Locale.ROOT));
    if (host == null) {
      int colon = authority.lastIndexOf(':');
      if (colon > 0 && authority.indexOf(']') < colon) {
        host = host(authority.substring(0, colon).toLowerCase(Locale.ROOT));
      }
    }
    if (host == null) {
      host = any;
    }
    if (host == null) {
      return Optional.empty();
    }
    for (CompiledRoute route : host.routes()) {
      if (matches(route, method, path, headers)) {
        return decision(route);
      }
    }
    return Optional.empty();
  }

  private CompiledHost host(String authority) {
    CompiledHost found = exact.get(authority);
    if (found != null) {
      return found;
    }
    for (Map.Entry<String, CompiledHost> suffix : suffixes) {
      if (authority.endsWith(suffix.getKey()) && authority.length() > suffix.getKey().length()) {
        return suffix.getValue();
      }
    }
    for (Map.Entry<String, CompiledHost> prefix : prefixes) {
      if (authority.startsWith(prefix.getKey()) && authority.length() > prefix.getKey().length()) {
        return prefix.getValue();
      }
    }
    return null; // '*' only after the name without its port has been tried too
  }

  private static boolean matches(
      CompiledRoute compiled, HttpMethod method, String path, HttpHeaders headers) {
    RouteMatch match = compiled.route().getMatch();
    if (match.hasConnectMatcher() != (method == HttpMethod.CONNECT)) {
      return false;
    }
    int query = path.indexOf('?');
    String pathOnly = query >= 0 ? path.substring(0, query) : path;
    boolean caseSensitive = !match.hasCaseSensitive() || match.getCaseSensitive().getValue();
    switch (match.getPathSpecifierCase()) {
      case PREFIX -> {
        if (!startsWith(pathOnly, match.getPrefix(), caseSensitive)) {
          return false;
        }
      }
      case PATH -> {
        if (caseSensitive
            ? !pathOnly.equals(match.getPath())
            : !pathOnly.equalsIgnoreCase(match.getPath())) {
          return false;
        }
      }
      case SAFE_REGEX -> {
        if (!compiled.regex().matcher(pathOnly).matches()) {
          return false;
        }
      }
      case PATH_SEPARATED_PREFIX -> {
        String prefix = match.getPathSeparatedPrefix();
        if (!startsWith(pathOnly, prefix, caseSensitive)
            || (pathOnly.length() > prefix.length() && pathOnly.charAt(prefix.length()) != '/')) {
          return false;
        }
      }
      case CONNECT_MATCHER, PATHSPECIFIER_NOT_SET -> {}
      default -> {
        return false;
      }
    }
    if (match.hasGrpc()
        && !String.valueOf(headers.get("content-type")).startsWith("application/grpc")) {
      return false;
    }
    for (HeaderMatch header : compiled.headers()) {
      if (!header.matches(headerValue(header.name(), method, headers))) {
        return false;
      }
    }
    for (QueryParameterMatch parameter : compiled.queryParameters()) {
      if (!parameter.matches(path)) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(String path, String prefix, boolean caseSensitive) {
    return caseSensitive
        ? path.startsWith(prefix)
        : path.regionMatches(true, 0, prefix, 0, prefix.length());
  }

  /** A header's value as matchers see it: several values joined by commas; null when absent. */
  static String headerValue(String name, HttpMethod method, HttpHeaders headers) {
    if (name.equals(":method")) {
      return method.name();
    }
    List<String> values = headers.getAll(name);
    return values.isEmpty() ? null : values.size() == 1 ? values.get(0) : String.join(",", values);
  }

  /** The route's decision; a weighted route's, drawn by weight. */
  private static Optional<Decision> decision(CompiledRoute route) {
    List<Optional<Decision>> decisions = route.decisions();
    if (decisions.isEmpty()) {
      return Optional.empty();
    }
    long[] weights = route.weights();
    if (weights == null) {
      return decisions.get(0);
    }
    long roll = ThreadLocalRandom.current().nextLong(weights[weights.length - 1]);
    for (int i = 0; i < weights.length; i++) {
      if (roll < weights[i]) {
        return decisions.get(i);
      }
    }
    return decisions.get(decisions.size() - 1);
  }
}
