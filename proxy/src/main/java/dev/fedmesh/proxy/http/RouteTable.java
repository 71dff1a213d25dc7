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
 * virtual host the first route whose path, header and method conditions all hold wins.
 */
final class RouteTable {
  static final RouteTable EMPTY = new RouteTable(RouteConfiguration.getDefaultInstance());

  /** What a matched route says to do with a request. */
  record Decision(
      String cluster,
      long timeoutMillis,
      RetryRules retry,
      String prefixMatched,
      String prefixRewrite,
      String hostRewrite,
      int directStatus,
      String directBody,
      FaultInjection fault) {
    boolean direct() {
      return directStatus > 0;
    }
  }

  /**
   * @param fault the route's fault config, else its virtual host's (Envoy's per-filter config),
   *     else null
   */
  private record CompiledRoute(
      Route route, Pattern regex, List<HeaderMatch> headers, FaultInjection fault) {}

  private record CompiledHost(VirtualHost host, List<CompiledRoute> routes) {}

  private final Map<String, CompiledHost> exact = new HashMap<>();
  private final List<Map.Entry<String, CompiledHost>> suffixes = new ArrayList<>();
  private final List<Map.Entry<String, CompiledHost>> prefixes = new ArrayList<>();
  private CompiledHost any;
  private final String name;

  RouteTable(RouteConfiguration config) {
    this.name = config.getName();
    for (VirtualHost host : config.getVirtualHostsList()) {
      List<CompiledRoute> routes = new ArrayList<>();
      for (Route route : host.getRoutesList()) {
        routes.add(compile(host, route));
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

  String name() {
    return name;
  }

  private static CompiledRoute compile(VirtualHost host, Route route) {
    RouteMatch match = route.getMatch();
    Pattern regex = match.hasSafeRegex() ? Pattern.compile(match.getSafeRegex().getRegex()) : null;
    List<HeaderMatch> headers = new ArrayList<>();
    for (HeaderMatcher header : match.getHeadersList()) {
      headers.add(HeaderMatch.of(header));
    }
    Any fault = route.getTypedPerFilterConfigMap().get(FaultInjection.FILTER);
    if (fault == null) {
      fault = host.getTypedPerFilterConfigMap().get(FaultInjection.FILTER);
    }
    return new CompiledRoute(
        route, regex, List.copyOf(headers), fault == null ? null : FaultInjection.of(fault));
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
        return decision(host.host(), route.route(), route.fault());
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

  private static Optional<Decision> decision(VirtualHost host, Route route, FaultInjection fault) {
    if (route.hasDirectResponse()) {
      return Optional.of(
          new Decision(
              "",
              0,
              RetryRules.NONE,
              "",
              "",
              "",
              route.getDirectResponse().getStatus(),
              route.getDirectResponse().getBody().getInlineString(),
              null));
    }
    if (!route.hasRoute()) {
      return Optional.empty(); // redirects and filter actions are not supported: no match
    }
    RouteAction action = route.getRoute();
    String cluster =
        switch (action.getClusterSpecifierCase()) {
          case CLUSTER -> action.getCluster();
          case WEIGHTED_CLUSTERS -> weighted(action.getWeightedClusters());
          default -> "";
        };
    long timeout = action.hasTimeout() ? Durations.toMillis(action.getTimeout()) : 15_000;
    RetryRules retry =
        action.hasRetryPolicy()
            ? RetryRules.of(action.getRetryPolicy())
            : host.hasRetryPolicy() ? RetryRules.of(host.getRetryPolicy()) : RetryRules.NONE;
    String matchedPrefix =
        route.getMatch().getPathSpecifierCase() == RouteMatch.PathSpecifierCase.PREFIX
            ? route.getMatch().getPrefix()
            : "";
    return Optional.of(
        new Decision(
            cluster,
            timeout,
            retry,
            matchedPrefix,
            action.getPrefixRewrite(),
            action.getHostRewriteLiteral(),
            0,
            "",
            fault));
  }

  private static String weighted(WeightedCluster clusters) {
    long total = 0;
    for (WeightedCluster.ClusterWeight weight : clusters.getClustersList()) {
      total += weight.getWeight().getValue();
    }
    if (total <= 0) {
      return clusters.getClustersCount() == 0 ? "" : clusters.getClusters(0).getName();
    }
    long roll = ThreadLocalRandom.current().nextLong(total);
    for (WeightedCluster.ClusterWeight weight : clusters.getClustersList()) {
      roll -= weight.getWeight().getValue();
      if (roll < 0) {
        return weight.getName();
      }
    }
    return clusters.getClusters(clusters.getClustersCount() - 1).getName();
  }
}
