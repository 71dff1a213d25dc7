package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.ssl.SslHandler;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Routes the outbound listener's requests by the xDS config: the route configuration named by the
 * HTTP connection manager of the listener on the outbound port (Istio's {@code virtualOutbound}),
 * then the cluster the matched route names.
 */
public final class OutboundRouting implements Routing {
  /** The listener name Istio gives the outbound capture listener; ours too. */
  public static final String LISTENER = dev.fedmesh.model.XdsNames.VIRTUAL_OUTBOUND;

  private final ClusterManager clusters;
  private final int outboundPort;
  private final ProxyStats stats;
  private volatile RouteTable table;

  /** The fault filter of the outbound listener's connection manager; a route's overrides it. */
  private volatile FaultInjection listenerFault;

  OutboundRouting(ClusterManager clusters, int outboundPort, ProxyStats stats) {
    this.clusters = requireNonNull(clusters, "clusters");
    this.outboundPort = outboundPort;
    this.stats = requireNonNull(stats, "stats");
  }

  /** Takes a new config: called after the cluster manager has applied it. */
  public void apply(ProxyConfig config) {
    table = routeName(config).map(config.routes()::get).map(RouteTable::new).orElse(null);
    listenerFault = manager(config).flatMap(OutboundRouting::fault).orElse(null);
  }

  private static Optional<FaultInjection> fault(HttpConnectionManager manager) {
    return manager.getHttpFiltersList().stream()
        .filter(f -> f.getTypedConfig().is(HTTPFault.class))
        .findFirst()
        .map(f -> FaultInjection.of(f.getTypedConfig()));
  }

  /** The route configuration the outbound listener uses, if the config has one. */
  Optional<String> routeName(ProxyConfig config) {
    return manager(config)
        .flatMap(
            manager ->
                manager.hasRds()
                    ? Optional.of(manager.getRds().getRouteConfigName())
                    : manager.hasRouteConfig()
                        ? Optional.of(manager.getRouteConfig().getName())
                        : Optional.empty());
  }

  /** The outbound listener's HTTP connection manager, if the config has one. */
  private Optional<HttpConnectionManager> manager(ProxyConfig config) {
    Listener listener = config.listeners().get(LISTENER);
    if (listener == null) {
      listener =
          config.listeners().values().stream()
              .filter(l -> l.getAddress().getSocketAddress().getPortValue() == outboundPort)
              .findFirst()
              .orElse(null);
    }
    if (listener == null) {
      return Optional.empty();
    }
    for (FilterChain chain : listener.getFilterChainsList()) {
      for (Filter filter : chain.getFiltersList()) {
        if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
          try {
            return Optional.of(filter.getTypedConfig().unpack(HttpConnectionManager.class));
          } catch (InvalidProtocolBufferException e) {
            return Optional.empty(); // the xDS client already rejected such a listener
          }
        }
      }
    }
    return Optional.empty();
  }

  /** A route configuration used directly (tests, static bootstrap). */
  public void apply(RouteConfiguration routes) {
    table = new RouteTable(routes);
  }

  @Override
  public Routed route(HttpRequest request, String authority, String path, Channel downstream) {
    RouteTable current = table;
    if (current == null) {
      return new Local(
          503, "no route configuration yet (the proxy has not received its config)", "NR");
    }
    Optional<RouteTable.Decision> decision =
        current.route(authority, request.method(), path, request.headers());
    if (decision.isEmpty()) {
      return new Local(404, "no route for " + authority + path, "NR");
    }
    RouteTable.Decision d = decision.get();
    if (d.direct()) {
      return new Local(d.directStatus(), d.directBody(), -1, 0, "", null, d.responseHeaders());
    }
    if (d.redirect() != null) {
      String location =
          d.redirect()
              .location(scheme(request, downstream), authority, path, d.matchedLength(path));
      return new Local(d.redirect().status(), "", -1, 0, "", location, d.responseHeaders());
    }
    Optional<UpstreamCluster> cluster = clusters.cluster(d.cluster());
    if (cluster.isEmpty()) {
      return new Local(
          503, "cluster not found: " + d.cluster(), -1, 0, "NC", null, d.responseHeaders());
    }
    if (cluster.get().config().getType()
        == io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.ORIGINAL_DST) {
      // A ServiceEntry of resolution NONE: where the request was going. Through the explicit
      // proxy that is its authority; an intercepted connection's own destination replaces it
      // (TransparentRouting).
      Optional<java.net.InetSocketAddress> target = authorityAddress(authority, request);
      if (target.isEmpty()) {
        return new Local(
            400, "no port in authority " + authority, -1, 0, "", null, d.responseHeaders());
      }
      cluster =
          Optional.of(UpstreamCluster.originalDestination(cluster.get().config(), target.get()));
    }
    String newPath = d.rewritePath(path);
    long hash = 0;
    boolean hashed = false;
    if (!d.hash().isEmpty() && cluster.get().hashes()) {
      long[] out = new long[1];
      hashed = d.hash().hash(request, authority, path, downstream, out);
      hash = out[0];
    }
    String newAuthority = d.hostRewrite().isEmpty() ? authority : d.hostRewrite();
    FaultInjection faults = d.fault() != null ? d.fault() : listenerFault;
    FaultInjection.Fault fault =
        faults == null
            ? FaultInjection.Fault.NONE
            : faults.decide(request, ThreadLocalRandom.current());
    if (fault.delayMillis() > 0) {
      stats.faultDelayed();
    }
    if (fault.aborts()) {
      stats.faultAborted();
      return new Local(
          fault.httpStatus() > 0 ? fault.httpStatus() : 200,
          "fault filter abort",
          fault.grpcStatus(),
          fault.delayMillis(),
          fault.delayMillis() > 0 ? "DI,FI" : "FI");
    }
    return new Forward(
        cluster.get(),
        d.retry(),
        d.timeoutMillis(),
        newPath,
        newAuthority,
        fault.delayMillis(),
        d.requestHeaders(),
        d.responseHeaders(),
        hash,
        hashed);
  }

  /**
   * Where an authority points: {@code host:port}, {@code [v6]:port}, or a host on HTTP's default
   * port (HTTPS's for an {@code https} absolute URI). A name is resolved when connecting.
   */
  static Optional<java.net.InetSocketAddress> authorityAddress(
      String authority, HttpRequest request) {
    String host = authority;
    int port = request.uri().regionMatches(true, 0, "https://", 0, 8) ? 443 : 80;
    int colon = authority.lastIndexOf(':');
    int bracket = authority.lastIndexOf(']');
    if (colon > bracket) {
      host = authority.substring(0, colon);
      try {
        port = Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty() || port < 1 || port > 65535) {
      return Optional.empty();
    }
    return Optional.of(
        io.netty.util.NetUtil.isValidIpV4Address(host)
                || io.netty.util.NetUtil.isValidIpV6Address(host)
            ? new java.net.InetSocketAddress(
                io.netty.util.NetUtil.createInetAddressFromIpAddressString(host), port)
            : java.net.InetSocketAddress.createUnresolved(host, port));
  }

  /** The scheme the request was made with: an absolute URI's, else the connection's. */
  private static String scheme(HttpRequest request, Channel downstream) {
    if (request.uri().regionMatches(true, 0, "https://", 0, 8)) {
      return "https";
    }
    if (request.uri().regionMatches(true, 0, "http://", 0, 7)) {
      return "http";
    }
    return InboundRouting.connection(downstream).pipeline().get(SslHandler.class) != null
        ? "https"
        : "http";
  }
}
