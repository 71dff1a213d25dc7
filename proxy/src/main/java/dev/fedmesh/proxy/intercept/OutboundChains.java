package dev.fedmesh.proxy.intercept;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The outbound capture listener's TCP filter chains: which cluster an intercepted connection goes
 * to by its original destination, as Envoy matches {@code filter_chain_match} ({@code
 * destination_port} first, then the longest {@code prefix_ranges} match), and the cluster of the
 * {@code default_filter_chain} for destinations no chain claims ({@code PassthroughCluster} under
 * ALLOW_ANY, {@code BlackHoleCluster} under REGISTRY_ONLY). Chains with an HTTP connection manager
 * are not here: HTTP is recognised by its first bytes and routed by host.
 *
 * <p>Chains with {@code server_names} (a ServiceEntry's TLS ports) match only connections whose TLS
 * ClientHello names one of them (Envoy's {@code tls_inspector}); an exact name wins over a {@code
 * *.suffix}, a longer suffix over a shorter.
 */
public final class OutboundChains {
  /** The listener Istio and fedmesh give the outbound capture port. */
  public static final String LISTENER = dev.fedmesh.model.XdsNames.VIRTUAL_OUTBOUND;

  /** One {@code tcp_proxy} chain: destinations it matches and the cluster it sends them to. */
  record Chain(List<Prefix> prefixes, int port, String cluster, List<String> serverNames) {
    Chain(List<Prefix> prefixes, int port, String cluster) {
      this(prefixes, port, cluster, List.of());
    }

    /** How well the chain's server names match {@code sni}: -1 not at all, higher is better. */
    int serverNameMatch(String sni) {
      int best = -1;
      String name = sni.toLowerCase(java.util.Locale.ROOT);
      for (String serverName : serverNames) {
        String pattern = serverName.toLowerCase(java.util.Locale.ROOT);
        if (pattern.equals(name)) {
          return Integer.MAX_VALUE;
        }
        if (pattern.startsWith("*.") && name.endsWith(pattern.substring(1))) {
          best = Math.max(best, pattern.length());
        }
      }
      return best;
    }

    boolean matchesPort(int destinationPort) {
      return port == 0 || port == destinationPort;
    }

    /** The matching prefix length (-1: no match; 0 for a chain without prefixes). */
    int prefixMatch(InetAddress address) {
      if (prefixes.isEmpty()) {
        return 0;
      }
      int best = -1;
      for (Prefix prefix : prefixes) {
        if (prefix.contains(address)) {
          best = Math.max(best, prefix.length());
        }
      }
      return best;
    }
  }

  /** An address prefix ({@code CidrRange}). */
  record Prefix(byte[] address, int length) {
    boolean contains(InetAddress candidate) {
      byte[] bytes = candidate.getAddress();
      if (bytes.length != address.length) {
        return false;
      }
      int full = length / 8;
      for (int i = 0; i < full; i++) {
        if (bytes[i] != address[i]) {
          return false;
        }
      }
      int rest = length % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (bytes[full] & mask) == (address[full] & mask);
    }
  }

  /** No config yet: no chains, and the default (ALLOW_ANY) lets everything through. */
  public static final OutboundChains NONE = new OutboundChains(List.of(), Optional.empty());

  private final List<Chain> chains;
  private final Optional<String> defaultCluster;

  OutboundChains(List<Chain> chains, Optional<String> defaultCluster) {
    this.chains = List.copyOf(chains);
    this.defaultCluster = defaultCluster;
  }

  /**
   * The chains of the outbound listener in {@code config}: the listener named {@value #LISTENER},
   * else the one bound on {@code outboundPort}.
   */
  public static OutboundChains of(ProxyConfig config, int outboundPort) {
    Listener listener = config.listeners().get(LISTENER);
    if (listener == null) {
      listener =
          config.listeners().values().stream()
              .filter(l -> l.getAddress().getSocketAddress().getPortValue() == outboundPort)
              .findFirst()
              .orElse(null);
    }
    if (listener == null) {
      return NONE;
    }
    List<Chain> chains = new ArrayList<>();
    for (FilterChain chain : listener.getFilterChainsList()) {
      tcpCluster(chain)
          .ifPresent(
              cluster -> {
                FilterChainMatch match = chain.getFilterChainMatch();
                List<Prefix> prefixes = new ArrayList<>();
                for (CidrRange range : match.getPrefixRangesList()) {
                  prefix(range).ifPresent(prefixes::add);
                }
                chains.add(
                    new Chain(
                        List.copyOf(prefixes),
                        match.getDestinationPort().getValue(),
                        cluster,
                        List.copyOf(match.getServerNamesList())));
              });
    }
    Optional<String> fallback =
        listener.hasDefaultFilterChain()
            ? tcpCluster(listener.getDefaultFilterChain())
            : Optional.empty();
    return new OutboundChains(chains, fallback);
  }

  /**
   * The cluster of the chain that matches {@code destination}: chains naming its port win over
   * chains for any port, then the longest matching prefix wins.
   */
  public Optional<String> clusterFor(InetSocketAddress destination) {
    Chain best = null;
    int bestScore = -1;
    for (Chain chain : chains) {
      if (!chain.serverNames().isEmpty() || !chain.matchesPort(destination.getPort())) {
        continue;
      }
      int prefix = chain.prefixMatch(destination.getAddress());
      if (prefix < 0) {
        continue;
      }
      int score = (chain.port() != 0 ? 1 << 10 : 0) + prefix;
      if (score > bestScore) {
        best = chain;
        bestScore = score;
      }
    }
    return Optional.ofNullable(best).map(Chain::cluster);
  }

  /**
   * Whether a chain with server names may take a connection to {@code destination}: then its TLS
   * ClientHello is read before a chain is chosen.
   */
  public boolean byServerName(InetSocketAddress destination) {
    return chains.stream()
        .anyMatch(
            chain ->
                !chain.serverNames().isEmpty()
                    && chain.matchesPort(destination.getPort())
                    && chain.prefixMatch(destination.getAddress()) >= 0);
  }

  /**
   * The cluster of the chain with server names that matches {@code destination} and the TLS server
   * name {@code sni}: by port, then address prefix, then the best name match.
   */
  public Optional<String> clusterFor(InetSocketAddress destination, String sni) {
    Chain best = null;
    long bestScore = -1;
    for (Chain chain : chains) {
      if (chain.serverNames().isEmpty() || !chain.matchesPort(destination.getPort())) {
        continue;
      }
      int prefix = chain.prefixMatch(destination.getAddress());
      int name = chain.serverNameMatch(sni);
      if (prefix < 0 || name < 0) {
        continue;
      }
      long score =
          ((chain.port() != 0 ? 1L : 0L) << 62) + ((long) prefix << 40) + Math.min(name, 1 << 30);
      if (score > bestScore) {
        best = chain;
        bestScore = score;
      }
    }
    return Optional.ofNullable(best).map(Chain::cluster);
  }

  /**
   * The default chain's cluster; empty when the listener has none (then traffic to unknown
   * destinations passes through, ALLOW_ANY being the default policy).
   */
  public Optional<String> defaultCluster() {
    return defaultCluster;
  }

  private static Optional<String> tcpCluster(FilterChain chain) {
    for (Filter filter : chain.getFiltersList()) {
      if (filter.getTypedConfig().is(TcpProxy.class)) {
        try {
          String cluster = filter.getTypedConfig().unpack(TcpProxy.class).getCluster();
          return cluster.isEmpty() ? Optional.empty() : Optional.of(cluster);
        } catch (InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<Prefix> prefix(CidrRange range) {
    String text = range.getAddressPrefix();
    if (!NetUtil.isValidIpV4Address(text) && !NetUtil.isValidIpV6Address(text)) {
      return Optional.empty();
    }
    byte[] address = NetUtil.createByteArrayFromIpAddressString(text);
    int bits = address.length * 8;
    int length = range.hasPrefixLen() ? Math.min(range.getPrefixLen().getValue(), bits) : bits;
    return Optional.of(new Prefix(address, length));
  }
}
