package dev.fedmesh.proxy.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.net.InetSocketAddress;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which cluster an intercepted connection goes to, by its original destination. */
class OutboundChainsTest {
  @Test
  void aChainForTheDestinationPortWinsThenTheLongestPrefix() {
    Listener listener =
        Listener.newBuilder()
            .setName(OutboundChains.LISTENER)
            .addFilterChains(chain("redis", 6379, "198.18.1.0", 24))
            .addFilterChains(chain("redis-primary", 6379, "198.18.1.7", 32))
            .addFilterChains(chain("any-port", 0, "198.18.1.7", 32))
            .setDefaultFilterChain(FilterChain.newBuilder().addFilters(tcp("PassthroughCluster")))
            .build();
    OutboundChains chains = OutboundChains.of(config(listener), 15001);

    assertThat(chains.clusterFor(at("198.18.1.7", 6379))).contains("redis-primary");
    assertThat(chains.clusterFor(at("198.18.1.8", 6379))).contains("redis");
    assertThat(chains.clusterFor(at("198.18.1.7", 80))).contains("any-port");
    assertThat(chains.clusterFor(at("198.18.2.1", 6379))).isEmpty();
    assertThat(chains.defaultCluster()).contains("PassthroughCluster");
  }

  @Test
  void chainsWithServerNamesMatchOnlyByTheClientHellosName() {
    Listener listener =
        Listener.newBuilder()
            .setName(OutboundChains.LISTENER)
            .addFilterChains(sni("api", 443, "api.example.com"))
            .addFilterChains(sni("any-google", 443, "*.googleapis.com"))
            .addFilterChains(sni("storage", 443, "*.storage.googleapis.com"))
            .addFilterChains(chain("vip", 443, "240.0.0.1", 32))
            .build();
    OutboundChains chains = OutboundChains.of(config(listener), 15001);

    // Without a name, chains with server names take nothing.
    assertThat(chains.clusterFor(at("203.0.113.9", 443))).isEmpty();
    assertThat(chains.byServerName(at("203.0.113.9", 443))).isTrue();
    assertThat(chains.byServerName(at("203.0.113.9", 8443))).isFalse();
    assertThat(chains.clusterFor(at("203.0.113.9", 443), "api.example.com")).contains("api");
    assertThat(chains.clusterFor(at("203.0.113.9", 443), "pubsub.googleapis.com"))
        .contains("any-google");
    assertThat(chains.clusterFor(at("203.0.113.9", 443), "eu.storage.googleapis.com"))
        .contains("storage");
    assertThat(chains.clusterFor(at("203.0.113.9", 443), "googleapis.com")).isEmpty();
    assertThat(chains.clusterFor(at("203.0.113.9", 8443), "api.example.com")).isEmpty();
    assertThat(chains.clusterFor(at("240.0.0.1", 443))).contains("vip");
  }

  private static FilterChain sni(String cluster, int port, String name) {
    return FilterChain.newBuilder()
        .setFilterChainMatch(
            FilterChainMatch.newBuilder()
                .setDestinationPort(UInt32Value.of(port))
                .addServerNames(name)
                .setTransportProtocol("tls"))
        .addFilters(tcp(cluster))
        .build();
  }

  @Test
  void withoutAnOutboundListenerNothingMatchesAndThereIsNoDefault() {
    OutboundChains chains = OutboundChains.of(ProxyConfig.EMPTY, 15001);
    assertThat(chains.clusterFor(at("198.18.1.7", 6379))).isEmpty();
    assertThat(chains.defaultCluster()).isEmpty();
  }

  private static InetSocketAddress at(String ip, int port) {
    return new InetSocketAddress(ip, port);
  }

  private static FilterChain chain(String cluster, int port, String prefix, int length) {
    FilterChainMatch.Builder match =
        FilterChainMatch.newBuilder()
            .addPrefixRanges(
                CidrRange.newBuilder()
                    .setAddressPrefix(prefix)
                    .setPrefixLen(UInt32Value.of(length)));
    if (port != 0) {
      match.setDestinationPort(UInt32Value.of(port));
    }
    return FilterChain.newBuilder().setFilterChainMatch(match).addFilters(tcp(cluster)).build();
  }

  private static Filter tcp(String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }

  private static ProxyConfig config(Listener listener) {
    return new ProxyConfig(Map.of(listener.getName(), listener), Map.of(), Map.of(), Map.of());
  }
}
