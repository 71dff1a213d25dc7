package dev.fedmesh.proxy.dns;

import static dev.fedmesh.proxy.dns.DnsListeners.domain;
import static dev.fedmesh.proxy.dns.DnsListeners.filter;
import static dev.fedmesh.proxy.dns.DnsListeners.listener;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The DNS listener's xDS contract: what is read, the defaults, and what is refused by field. */
class DnsListenerConfigTest {
  private static final InetSocketAddress DNS = new InetSocketAddress("127.0.0.1", 15053);
  private static final String FILTER = "listener_filters[0].typed_config.";
  private static final DnsTable TABLE =
      DnsTable.newBuilder().addVirtualDomains(domain("payments.shop", "10.0.0.1")).build();

  @Test
  void theListenerIsReadWithEnvoysDefaultsWhereFieldsAreUnset() {
    DnsFilterConfig bare =
        DnsFilterConfig.newBuilder()
            .setStatPrefix("dns")
            .setServerConfig(
                DnsFilterConfig.ServerContextConfig.newBuilder().setInlineDnsTable(TABLE))
            .build();

    DnsListenerConfig config = DnsListenerConfig.of(listener(DNS, bare));

    assertThat(config.address()).isEqualTo(DNS);
    assertThat(config.resolverTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.maxPendingLookups()).isEqualTo(256);
    assertThat(config.resolvers()).isEmpty();
    assertThat(config.tcpUpstream()).isFalse();
    assertThat(config.table().lookup("payments.shop")).isPresent();
  }

  @Test
  @SuppressWarnings("deprecation")
  void resolversTimeoutTcpAndTheCapAreTakenFromTheClientConfig() {
    DnsFilterConfig.Builder filter =
        filter(TABLE, Duration.ofMillis(2500), new InetSocketAddress("10.96.0.10", 53));
    filter
        .getClientConfigBuilder()
        .setMaxPendingLookups(16)
        .getDnsResolutionConfigBuilder()
        .addResolvers(
            Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress("fd00::53")))
        .getDnsResolverOptionsBuilder()
        .setUseTcpForDnsLookups(true);

    DnsListenerConfig config = DnsListenerConfig.of(listener(DNS, filter.build()));

    assertThat(config.resolverTimeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(config.resolvers())
        .containsExactly(
            new InetSocketAddress("10.96.0.10", 53), new InetSocketAddress("fd00::53", 53));
    assertThat(config.tcpUpstream()).isTrue();
    assertThat(config.maxPendingLookups()).isEqualTo(16);
  }

  @Test
  void theListenerShapeIsCheckedByField() {
    Listener good = listener(DNS, filter(TABLE, Duration.ofSeconds(5)).build());
    Listener tcp =
        good.toBuilder()
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder()
                            .setProtocol(SocketAddress.Protocol.TCP)
                            .setAddress("localhost")
                            .setPortValue(15053)))
            .build();
    Listener wrongFilter =
        good.toBuilder()
            .setListenerFilters(
                0,
                ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.tls_inspector")
                    .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
            .build();
    Listener twoFilters = good.toBuilder().addListenerFilters(good.getListenerFilters(0)).build();
    Listener withChains =
        good.toBuilder()
            .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName("x")))
            .build();
    Listener elsewhere = good.toBuilder().setName("dns-too").build();

    assertThat(DnsListenerConfig.problems(good)).isEmpty();
    assertThat(DnsListenerConfig.problems(tcp))
        .containsExactly(
            "address.socket_address.protocol: TCP (expected: UDP)",
            "address.socket_address.address: 'localhost' (expected: an IPv4 or IPv6 address)");
    assertThat(DnsListenerConfig.problems(wrongFilter))
        .containsExactly(
            "listener_filters[0].name: 'envoy.filters.listener.tls_inspector' (expected:"
                + " envoy.filters.udp.dns_filter)",
            "listener_filters[0].typed_config:"
                + " 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'"
                + " (expected:"
                + " type.googleapis.com/envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig)");
    assertThat(DnsListenerConfig.problems(twoFilters))
        .containsExactly(
            "listener_filters: 2 filters (expected: exactly one, envoy.filters.udp.dns_filter)");
    assertThat(DnsListenerConfig.problems(withChains))
        .containsExactly(
            "filter_chains: 1 (expected: none; the DNS filter is the listener's only filter)");
    assertThat(DnsListenerConfig.concerns(elsewhere)).isTrue();
    assertThat(DnsListenerConfig.problems(elsewhere))
        .containsExactly(
            "listener_filters: envoy.filters.udp.dns_filter (expected: only on listener 'dns')");
  }

  @Test
  @SuppressWarnings("deprecation")
  void whatFedmeshWouldNotEnforceIsRefusedByField() {
    DnsFilterConfig.Builder filter =
        filter(
            TABLE.toBuilder().addVirtualDomains(domain("bad.shop", "not-an-ip")).build(),
            Duration.ofMillis(200),
            new InetSocketAddress("10.96.0.10", 53));
    filter
        .getClientConfigBuilder()
        .addUpstreamResolvers(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("10.0.0.1").setPortValue(53)))
        .getDnsResolutionConfigBuilder()
        .addResolvers(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress("dns.google").setPortValue(53)));
    DnsFilterConfig external =
        filter(TABLE, Duration.ofSeconds(5)).build().toBuilder()
            .setServerConfig(
                DnsFilterConfig.ServerContextConfig.newBuilder()
                    .setExternalDnsTable(DataSource.newBuilder().setFilename("/etc/table")))
            .build();

    assertThat(DnsListenerConfig.problems(listener(DNS, filter.build())))
        .containsExactly(
            FILTER
                + "server_config.inline_dns_table.virtual_domains[1].endpoint.address_list"
                + ".address[0]: 'not-an-ip' (expected: an IPv4 or IPv6 address)",
            FILTER
                + "client_config.resolver_timeout: 0.200s (expected: at least 1s, Envoy's bound)",
            FILTER
                + "client_config.upstream_resolvers: set (expected:"
                + " dns_resolution_config.resolvers instead)",
            FILTER
                + "client_config.dns_resolution_config.resolvers[1].socket_address.address:"
                + " 'dns.google' (expected: an IPv4 or IPv6 address)");
    assertThat(DnsListenerConfig.problems(listener(DNS, external)))
        .containsExactly(
            FILTER + "server_config.external_dns_table: set (expected: inline_dns_table)");
  }

  @Test
  void aListenerWithoutTheDnsFilterOrNameIsNotOurs() {
    Listener outbound =
        Listener.newBuilder()
            .setName("virtualOutbound")
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15001)))
            .build();
    assertThat(DnsListenerConfig.concerns(outbound)).isFalse();
    assertThat(
            DnsListenerConfig.of(
                new dev.fedmesh.proxy.xds.ProxyConfig(
                    java.util.Map.of("virtualOutbound", outbound),
                    java.util.Map.of(),
                    java.util.Map.of(),
                    java.util.Map.of())))
        .isEmpty();
  }
}
