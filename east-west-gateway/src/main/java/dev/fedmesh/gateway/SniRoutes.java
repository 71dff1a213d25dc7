package dev.fedmesh.gateway;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Which upstream cluster each TLS server name reaches, read from the filter chains of the active
 * config's listeners: {@code filter_chain_match.server_names} to the chain's {@code tcp_proxy}
 * cluster. Immutable; rebuilt whenever the config changes.
 *
 * <p>It fails closed: the gateway must open only what the control plane exported (CVE-2021-31921 is
 * what happens otherwise). A chain without server names (a default chain), with match criteria the
 * gateway does not evaluate, or with a filter other than one {@code tcp_proxy} to a single cluster
 * routes nothing, and a name matches only an exact server name or a {@code *.} wildcard of it (the
 * longest wildcard wins, as in Envoy).
 */
final class SniRoutes {
  /**
   * Connection attempts when {@code tcp_proxy} does not say: a connect failure costs the client
   * nothing yet (no byte has been forwarded), so the gateway tries other endpoints before giving
   * up.
   */
  static final int DEFAULT_CONNECT_ATTEMPTS = 3;

  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

  /**
   * Where one server name goes.
   *
   * @param serverName the name the filter chain matches (exact, or a {@code *.} wildcard)
   * @param listener the listener the chain belongs to
   * @param cluster the upstream cluster
   * @param connectAttempts how many endpoints to try before refusing the connection
   */
  record Route(String serverName, String listener, String cluster, int connectAttempts) {}

  static final SniRoutes EMPTY = new SniRoutes(Map.of(), Map.of(), List.of());

  private final Map<String, Route> exact;
  private final Map<String, Route> wildcards; // by suffix including the leading dot
  private final List<String> ignored;

  private SniRoutes(Map<String, Route> exact, Map<String, Route> wildcards, List<String> ignored) {
    this.exact = exact;
    this.wildcards = wildcards;
    this.ignored = ignored;
  }

  /** The routes of every listener of {@code config}, in listener name order (first one wins). */
  static SniRoutes of(ProxyConfig config) {
    Map<String, Route> exact = new TreeMap<>();
    Map<String, Route> wildcards = new TreeMap<>();
    List<String> ignored = new ArrayList<>();
    for (Listener listener : new TreeMap<>(config.listeners()).values()) {
      for (int i = 0; i < listener.getFilterChainsCount(); i++) {
        FilterChain chain = listener.getFilterChains(i);
        String where =
            "listener '"
                + listener.getName()
                + "' filter_chains["
                + i
                + "]"
                + (chain.getName().isEmpty() ? "" : " '" + chain.getName() + "'");
        Optional<String> problem = problem(chain);
        if (problem.isPresent()) {
          ignored.add(where + ": " + problem.get());
          continue;
        }
        TcpProxy proxy = tcpProxy(chain.getFilters(0)).orElseThrow();
        int attempts =
            proxy.hasMaxConnectAttempts()
                ? Math.max(1, proxy.getMaxConnectAttempts().getValue())
                : DEFAULT_CONNECT_ATTEMPTS;
        for (String name : chain.getFilterChainMatch().getServerNamesList()) {
          String lower = name.toLowerCase(Locale.ROOT);
          Route route = new Route(lower, listener.getName(), proxy.getCluster(), attempts);
          if (lower.startsWith("*.")) {
            wildcards.putIfAbsent(lower.substring(1), route);
          } else {
            exact.putIfAbsent(lower, route);
          }
        }
      }
    }
    return new SniRoutes(
        Collections.unmodifiableMap(exact), Collections.unmodifiableMap(wildcards), ignored);
  }

  /** Why a chain routes nothing, or empty when it routes its server names. */
  private static Optional<String> problem(FilterChain chain) {
    FilterChainMatch match = chain.getFilterChainMatch();
    if (match.getServerNamesCount() == 0) {
      return Optional.of("no server_names (expected: the gateway routes by SNI only)");
    }
    if (!match.getTransportProtocol().isEmpty() && !match.getTransportProtocol().equals("tls")) {
      return Optional.of(
          "transport_protocol '" + match.getTransportProtocol() + "' (expected: tls or none)");
    }
    FilterChainMatch rest = match.toBuilder().clearServerNames().clearTransportProtocol().build();
    if (!rest.equals(FilterChainMatch.getDefaultInstance())) {
      return Optional.of(
          "filter_chain_match has criteria besides server_names (expected: none; the gateway"
              + " does not evaluate them)");
    }
    if (chain.getFiltersCount() != 1) {
      return Optional.of(
          chain.getFiltersCount() + " filters (expected: exactly one, " + TCP_PROXY + ")");
    }
    Optional<TcpProxy> proxy = tcpProxy(chain.getFilters(0));
    if (proxy.isEmpty()) {
      return Optional.of(
          "filter '" + chain.getFilters(0).getName() + "' (expected: " + TCP_PROXY + ")");
    }
    if (proxy.get().getCluster().isEmpty()) {
      return Optional.of("tcp_proxy without a cluster (expected: one cluster)");
    }
    return Optional.empty();
  }

  private static Optional<TcpProxy> tcpProxy(Filter filter) {
    if (!filter.hasTypedConfig() || !filter.getTypedConfig().is(TcpProxy.class)) {
      return Optional.empty();
    }
    try {
      return Optional.of(filter.getTypedConfig().unpack(TcpProxy.class));
    } catch (InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }

  /** Where a connection asking for {@code serverName} goes, if anywhere. */
  Optional<Route> route(String serverName) {
    String name = serverName.toLowerCase(Locale.ROOT);
    Route route = exact.get(name);
    if (route != null) {
      return Optional.of(route);
    }
    // Longest wildcard suffix first: "*.b.example" before "*.example" for "a.b.example".
    for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      route = wildcards.get(name.substring(dot));
      if (route != null && dot > 0) {
        return Optional.of(route);
      }
    }
    return Optional.empty();
  }

  /** Every server name routed (exact names and wildcards). */
  List<String> serverNames() {
    List<String> names = new ArrayList<>(exact.keySet());
    wildcards.keySet().forEach(suffix -> names.add("*" + suffix));
    return names;
  }

  /** The filter chains that route nothing, each with the reason. */
  List<String> ignored() {
    return List.copyOf(ignored);
  }
}
