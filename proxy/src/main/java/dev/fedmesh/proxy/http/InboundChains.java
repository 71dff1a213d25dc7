package dev.fedmesh.proxy.http;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.fedmesh.proxy.authz.Authorizer;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The inbound policy the controller sends, as Envoy's {@code virtualInbound} listener carries it
 * (Istio's shape): a filter chain per application port and transport. A port whose only chain
 * matches {@code transport_protocol: "tls"} takes mutual TLS only (PeerAuthentication STRICT); with
 * a {@code "raw_buffer"} chain too, plaintext as well (PERMISSIVE); with only a plaintext chain, no
 * TLS (DISABLE). Each chain's RBAC filters (network, and HTTP in its connection manager) and path
 * settings apply to the connections it takes. A connection no chain matches is refused, as Envoy
 * refuses one.
 *
 * <p>Chains are chosen as Envoy chooses them: the destination port first (a chain naming the port
 * beats one that names none), then the transport protocol (a chain naming it beats one that names
 * none).
 */
final class InboundChains {
  /** The listener name Istio gives the inbound capture listener; ours too. */
  static final String LISTENER = dev.fedmesh.model.XdsNames.VIRTUAL_INBOUND;

  /** What a chain matches of the connection's first bytes. */
  enum Transport {
    TLS,
    PLAINTEXT,
    ANY
  }

  /** One compiled filter chain. */
  record Chain(
      String name,
      int port,
      Transport transport,
      Authorizer network,
      Authorizer http,
      PathNormalizer.Options paths) {
    boolean accepts(int destinationPort, boolean tls) {
      return (port == 0 || port == destinationPort)
          && (transport == Transport.ANY || (transport == Transport.TLS) == tls);
    }
  }

  private final List<Chain> chains;

  private InboundChains(List<Chain> chains) {
    this.chains = chains;
  }

  /** The inbound policy in {@code config}, or empty when it has no inbound listener. */
  static Optional<InboundChains> of(ProxyConfig config) {
    Listener listener = config.listeners().get(LISTENER);
    return listener == null ? Optional.empty() : Optional.of(of(listener));
  }

  /**
   * Compiles a listener's chains.
   *
   * @throws IllegalArgumentException naming the chain and field that cannot be enforced
   */
  static InboundChains of(Listener listener) {
    List<Chain> chains = new ArrayList<>();
    for (int i = 0; i < listener.getFilterChainsCount(); i++) {
      FilterChain chain = listener.getFilterChains(i);
      String name =
          "filter_chains["
              + i
              + "]"
              + (chain.getName().isEmpty() ? "" : " '" + chain.getName() + "'");
      try {
        chains.add(compile(name, chain));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
      }
    }
    // Most specific first: a port beats no port, then a transport beats none.
    chains.sort(
        Comparator.comparing((Chain c) -> c.port() == 0)
            .thenComparing(c -> c.transport() == Transport.ANY));
    return new InboundChains(List.copyOf(chains));
  }

  private static Chain compile(String name, FilterChain chain) {
    FilterChainMatch match = chain.getFilterChainMatch();
    int port = match.hasDestinationPort() ? match.getDestinationPort().getValue() : 0;
    Transport transport =
        switch (match.getTransportProtocol()) {
          case "" -> Transport.ANY;
          case "tls" -> Transport.TLS;
          case "raw_buffer" -> Transport.PLAINTEXT;
          default ->
              throw new IllegalArgumentException(
                  "filter_chain_match.transport_protocol '"
                      + match.getTransportProtocol()
                      + "' (expected: tls, raw_buffer or none)");
        };
    if (transport == Transport.TLS && !chain.hasTransportSocket()) {
      throw new IllegalArgumentException(
          "matches tls but has no transport_socket (expected: a DownstreamTlsContext)");
    }
    Authorizer network = Authorizer.ofNetworkFilters(chain.getFiltersList());
    Authorizer http = Authorizer.ALLOW_ALL;
    PathNormalizer.Options paths = PathNormalizer.Options.DEFAULT;
    for (Filter filter : chain.getFiltersList()) {
      if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
        HttpConnectionManager manager;
        try {
          manager = filter.getTypedConfig().unpack(HttpConnectionManager.class);
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalArgumentException(
              "http_connection_manager does not parse (" + e.getMessage() + ")", e);
        }
        http = Authorizer.ofHttpFilters(manager.getHttpFiltersList());
        paths = PathNormalizer.Options.of(manager);
      }
    }
    return new Chain(name, port, transport, network, http, paths);
  }

  /** The chain for a connection to {@code port}, by whether it opened with a TLS handshake. */
  Optional<Chain> select(int port, boolean tls) {
    for (Chain chain : chains) {
      if (chain.accepts(port, tls)) {
        return Optional.of(chain);
      }
    }
    return Optional.empty();
  }
}
