package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.authz.Attributes;
import dev.fedmesh.proxy.authz.Decision;
import dev.fedmesh.proxy.tls.TlsContexts;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.trust.SpiffeId;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Routes an inbound port's requests to its application, after the RBAC filters of the connection's
 * filter chain (see {@link InboundChains}) have allowed them. A denied request is answered 403
 * ("RBAC: access denied", as Envoy answers; gRPC callers get PERMISSION_DENIED).
 */
final class InboundRouting implements Routing {
  /** The filter chain that took a connection, set when the connection is accepted. */
  static final AttributeKey<InboundChains.Chain> CHAIN = AttributeKey.valueOf("fedmesh.chain");

  /** The inbound policy a connection's chain was chosen from. */
  static final AttributeKey<InboundChains> CHAINS = AttributeKey.valueOf("fedmesh.chains");

  private final UpstreamCluster app;
  private final RetryRules retries;
  private final ProxyStats stats;

  private final java.util.function.Supplier<InboundChains> policy;

  /**
   * @param policy the inbound policy in force now; requests on connections accepted under an older
   *     one are checked against the chain the current policy gives them, as Envoy drains
   *     connections of a changed filter chain
   */
  InboundRouting(
      UpstreamCluster app,
      RetryRules retries,
      ProxyStats stats,
      java.util.function.Supplier<InboundChains> policy) {
    this.policy = policy;
    this.app = app;
    this.retries = retries;
    this.stats = stats;
  }

  @Override
  public Routed route(HttpRequest request, String authority, String path, Channel downstream) {
    Channel connection = connection(downstream);
    InboundChains current = policy.get();
    if (current != connection.attr(CHAINS).get()) {
      // The policy changed since this connection was accepted: its chain is chosen again.
      Optional<InboundChains.Chain> fresh =
          current == null
              ? Optional.empty()
              : current.select(
                  dev.fedmesh.proxy.intercept.OriginalDestination.of(connection).getPort(),
                  connection.pipeline().get(SslHandler.class) != null);
      if (current != null && fresh.isEmpty()) {
        stats.rejected(
            "request on a connection the inbound policy no longer takes ("
                + (connection.pipeline().get(SslHandler.class) != null ? "mTLS" : "plaintext")
                + ")");
        connection.eventLoop().execute(connection::close);
        return new Local(503, "inbound policy changed: connection no longer accepted", "UF");
      }
      connection.attr(CHAIN).set(fresh.orElse(null));
      connection.attr(CHAINS).set(current);
    }
    InboundChains.Chain chain = connection.attr(CHAIN).get();
    if (chain != null && !chain.http().allowsEverything()) {
      Attributes attributes = attributes(connection, request, authority, path);
      Decision decision = chain.http().check(attributes);
      stats.authorized(decision, describe(request, path, attributes));
      if (decision instanceof Decision.Denied) {
        return new Local(403, "RBAC: access denied", "RBAC");
      }
    }
    return new Forward(app, retries, 0, path, authority);
  }

  @Override
  public PathNormalizer.Options pathOptions(Channel downstream) {
    InboundChains.Chain chain = connection(downstream).attr(CHAIN).get();
    return chain == null ? PathNormalizer.Options.DEFAULT : chain.paths();
  }

  /** An HTTP/2 stream's connection is its parent. */
  static Channel connection(Channel channel) {
    return channel instanceof Http2StreamChannel ? channel.parent() : channel;
  }

  /** The peer's SPIFFE ID, when the connection is mutual TLS. */
  static Optional<String> principal(Channel connection) {
    return TlsContexts.peerId(connection).map(SpiffeId::toString);
  }

  /** The connection's attributes, for network RBAC and as the base of a request's. */
  static Attributes connectionAttributes(Channel connection) {
    SslHandler ssl = connection.pipeline().get(SslHandler.class);
    String sni = "";
    if (ssl != null
        && ssl.engine().getSession() instanceof javax.net.ssl.ExtendedSSLSession session) {
      try {
        for (var name : session.getRequestedServerNames()) {
          if (name instanceof javax.net.ssl.SNIHostName host) {
            sni = host.getAsciiName();
          }
        }
      } catch (IllegalArgumentException e) {
        // The JDK refuses names it would not send itself, Istio's "outbound_.8080_._.host" among
        // them (underscores); such a name matches no requested_server_name rule.
        sni = "";
      }
    }
    return Attributes.connection(
        principal(connection),
        (InetSocketAddress) connection.remoteAddress(),
        dev.fedmesh.proxy.intercept.OriginalDestination.of(connection),
        sni);
  }

  private static Attributes attributes(
      Channel connection, HttpRequest request, String authority, String path) {
    HttpHeaders headers = request.headers();
    String host = hostOnly(authority);
    boolean tls = connection.pipeline().get(SslHandler.class) != null;
    int query = path.indexOf('?');
    String pathOnly = query >= 0 ? path.substring(0, query) : path;
    return connectionAttributes(connection)
        .withRequest(
            name ->
                switch (name) {
                  case ":authority", "host" -> host;
                  case ":method" -> request.method().name();
                  case ":path" -> path;
                  case ":scheme" -> tls ? "https" : "http";
                  default -> {
                    List<String> values = headers.getAll(name);
                    yield values.isEmpty()
                        ? null
                        : values.size() == 1 ? values.get(0) : String.join(",", values);
                  }
                },
            pathOnly);
  }

  /**
   * The host as policies compare it: lower case, without a port (a policy on {@code payments.shop}
   * must not be missed by {@code Payments.Shop:8080}).
   */
  static String hostOnly(String authority) {
    String host = authority;
    int colon = host.lastIndexOf(':');
    if (colon > 0 && host.indexOf(']') < colon) {
      host = host.substring(0, colon);
    }
    return host.toLowerCase(Locale.ROOT);
  }

  private static String describe(HttpRequest request, String path, Attributes attributes) {
    return request.method()
        + " "
        + path
        + " from "
        + attributes.principal().orElse("plaintext " + attributes.source());
  }
}
