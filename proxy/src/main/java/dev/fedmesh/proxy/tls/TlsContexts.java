package dev.fedmesh.proxy.tls;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.SpiffeId;
import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.X509Svid;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSL;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The proxy's TLS, on BoringSSL: one server context for inbound mTLS and one client context per
 * distinct upstream TLS config. Both present the identity's current SVID at each handshake, so a
 * rotated certificate is used by the next connection without rebuilding anything, and both verify
 * the peer's SVID against the trust bundles. An upstream's {@code match_typed_subject_alt_names}
 * (URI exact or prefix) decide which peer SPIFFE IDs are accepted.
 */
public final class TlsContexts {
  /** ALPN for opaque TCP: none, the receiving side knows its port's protocol. */
  public enum Alpn {
    HTTP1,
    HTTP2,
    NONE
  }

  private record ClientKey(CertificateValidationContext validation, Alpn alpn) {}

  private final ProxyIdentity identity;
  private final SslContext server;
  private final Map<ClientKey, SslContext> clients = new ConcurrentHashMap<>();

  public TlsContexts(ProxyIdentity identity) {
    this.identity = requireNonNull(identity, "identity");
    try {
      this.server =
          SslContextBuilder.forServer(SpiffeTls.keyManager(identity.credential()))
              .sslProvider(SslProvider.OPENSSL)
              .trustManager(SpiffeTls.trustManager(identity.verifier(), id -> true))
              .clientAuth(ClientAuth.REQUIRE)
              .protocols("TLSv1.3", "TLSv1.2")
              .applicationProtocolConfig(
                  new ApplicationProtocolConfig(
                      ApplicationProtocolConfig.Protocol.ALPN,
                      ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                      ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                      ApplicationProtocolNames.HTTP_2,
                      ApplicationProtocolNames.HTTP_1_1))
              .build();
    } catch (SSLException e) {
      throw new IllegalStateException("inbound TLS: " + e.getMessage(), e);
    }
  }

  /** A server-side handler for an accepted connection (client certificate required). */
  public SslHandler serverHandler(ByteBufAllocator alloc) {
    return server.newHandler(alloc);
  }

  /**
   * A client-side handler for a connection to {@code peer} with the upstream's SNI (sent as is,
   * even when it is not a DNS name, as Envoy does).
   */
  public SslHandler clientHandler(
      UpstreamTlsContext upstream, Alpn alpn, ByteBufAllocator alloc, InetSocketAddress peer) {
    CertificateValidationContext validation =
        upstream.getCommonTlsContext().hasCombinedValidationContext()
            ? upstream
                .getCommonTlsContext()
                .getCombinedValidationContext()
                .getDefaultValidationContext()
            : upstream.getCommonTlsContext().getValidationContext();
    SslContext context =
        clients.computeIfAbsent(new ClientKey(validation, alpn), key -> newClient(key));
    SslHandler handler = context.newHandler(alloc, peer.getHostString(), peer.getPort());
    String sni = upstream.getSni();
    if (!sni.isEmpty() && handler.engine() instanceof ReferenceCountedOpenSslEngine engine) {
      synchronized (engine) {
        SSL.setTlsExtHostName(engine.sslPointer(), sni);
      }
    }
    return handler;
  }

  private SslContext newClient(ClientKey key) {
    Predicate<SpiffeId> authorized = peerMatcher(key.validation());
    SslContextBuilder builder =
        SslContextBuilder.forClient()
            .sslProvider(SslProvider.OPENSSL)
            .keyManager(SpiffeTls.keyManager(identity.credential()))
            .trustManager(SpiffeTls.trustManager(identity.verifier(), authorized))
            .protocols("TLSv1.3", "TLSv1.2")
            .endpointIdentificationAlgorithm(null);
    if (key.alpn() != Alpn.NONE) {
      builder.applicationProtocolConfig(
          new ApplicationProtocolConfig(
              ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
              key.alpn() == Alpn.HTTP2
                  ? ApplicationProtocolNames.HTTP_2
                  : ApplicationProtocolNames.HTTP_1_1));
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalStateException("upstream TLS: " + e.getMessage(), e);
    }
  }

  /** The peer IDs a validation context accepts: any of its URI SAN matchers, or any SVID. */
  static Predicate<SpiffeId> peerMatcher(CertificateValidationContext validation) {
    List<Predicate<String>> matchers = new ArrayList<>();
    for (SubjectAltNameMatcher san : validation.getMatchTypedSubjectAltNamesList()) {
      if (san.getSanType() == SubjectAltNameMatcher.SanType.URI) {
        matchers.add(stringMatcher(san.getMatcher()));
      }
    }
    if (matchers.isEmpty()) {
      return id -> true;
    }
    return id -> matchers.stream().anyMatch(m -> m.test(id.toString()));
  }

  private static Predicate<String> stringMatcher(StringMatcher matcher) {
    return switch (matcher.getMatchPatternCase()) {
      case EXACT -> value -> value.equals(matcher.getExact());
      case PREFIX -> value -> value.startsWith(matcher.getPrefix());
      case SUFFIX -> value -> value.endsWith(matcher.getSuffix());
      case CONTAINS -> value -> value.contains(matcher.getContains());
      case SAFE_REGEX -> value -> value.matches(matcher.getSafeRegex().getRegex());
      default -> value -> false;
    };
  }

  private static final AttributeKey<Optional<SpiffeId>> PEER_ID =
      AttributeKey.valueOf(TlsContexts.class, "peerId");

  /**
   * The SPIFFE ID the TLS peer of a connection presented; empty for plaintext. Read from the
   * certificate once per connection, when its handshake has finished, not once per request.
   */
  public static Optional<SpiffeId> peerId(Channel connection) {
    Optional<SpiffeId> known = connection.attr(PEER_ID).get();
    if (known != null) {
      return known;
    }
    SslHandler ssl = connection.pipeline().get(SslHandler.class);
    if (ssl == null) {
      return Optional.empty();
    }
    Optional<SpiffeId> id = peerId(ssl.engine().getSession());
    if (ssl.handshakeFuture().isSuccess()) {
      connection.attr(PEER_ID).set(id);
    }
    return id;
  }

  /** The SPIFFE ID the peer of a finished handshake presented, if any. */
  public static Optional<SpiffeId> peerId(SSLSession session) {
    try {
      Certificate[] chain = session.getPeerCertificates();
      List<X509Certificate> certificates = new ArrayList<>();
      for (Certificate certificate : chain) {
        certificates.add((X509Certificate) certificate);
      }
      return Optional.of(X509Svid.of(certificates).id());
    } catch (SSLPeerUnverifiedException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
