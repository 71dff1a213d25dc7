package dev.fedmesh.gateway;

import static dev.fedmesh.gateway.GatewayConfigs.CART;
import static dev.fedmesh.gateway.GatewayConfigs.LISTENER;
import static dev.fedmesh.gateway.GatewayConfigs.PAYMENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SniRoutesTest {
  private static final InetSocketAddress ENDPOINT = new InetSocketAddress("10.1.0.5", 8080);

  private static ProxyConfig withChains(FilterChain... chains) {
    Listener.Builder listener = GatewayConfigs.listener();
    for (FilterChain chain : chains) {
      listener.addFilterChains(chain);
    }
    return new ProxyConfig(
        Map.of(LISTENER, listener.build()),
        Map.of(),
        Map.of(PAYMENTS, GatewayConfigs.cluster(PAYMENTS)),
        Map.of(PAYMENTS, GatewayConfigs.assignment(PAYMENTS, List.of(ENDPOINT))));
  }

  @Test
  void eachExportedServicePortRoutesItsServerNameToItsCluster() {
    SniRoutes routes =
        SniRoutes.of(
            GatewayConfigs.of(Map.of(PAYMENTS, List.of(ENDPOINT), CART, List.of(ENDPOINT))));

    assertThat(routes.route(PAYMENTS))
        .contains(
            new SniRoutes.Route(PAYMENTS, LISTENER, PAYMENTS, SniRoutes.DEFAULT_CONNECT_ATTEMPTS));
    assertThat(routes.route(CART).orElseThrow().cluster()).isEqualTo(CART);
    assertThat(routes.serverNames()).containsExactlyInAnyOrder(PAYMENTS, CART);
    assertThat(routes.ignored()).isEmpty();
  }

  @Test
  void aNameNoChainNamesRoutesNowhere() {
    SniRoutes routes = SniRoutes.of(GatewayConfigs.of(PAYMENTS, ENDPOINT));

    assertThat(routes.route(CART)).isEmpty();
    assertThat(routes.route("outbound_.8081_._.payments.default.svc.cluster.local")).isEmpty();
    assertThat(routes.route("payments.default.svc.cluster.local")).isEmpty();
    assertThat(SniRoutes.EMPTY.route(PAYMENTS)).isEmpty();
  }

  @Test
  void serverNamesMatchWhateverTheirCase() {
    SniRoutes routes = SniRoutes.of(GatewayConfigs.of(PAYMENTS, ENDPOINT));

    assertThat(routes.route(PAYMENTS.toUpperCase(java.util.Locale.ROOT))).isPresent();
  }

  @Test
  void aDefaultChainWithoutServerNamesOpensNothing() {
    FilterChain catchAll =
        GatewayConfigs.chain(PAYMENTS, PAYMENTS).toBuilder().clearFilterChainMatch().build();

    SniRoutes routes = SniRoutes.of(withChains(catchAll));

    assertThat(routes.route(PAYMENTS)).isEmpty();
    assertThat(routes.ignored())
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("no server_names");
  }

  @Test
  void chainsWithCriteriaOrFiltersTheGatewayDoesNotEvaluateRouteNothing() {
    FilterChain byPort =
        GatewayConfigs.chain(PAYMENTS, PAYMENTS).toBuilder()
            .setFilterChainMatch(
                FilterChainMatch.newBuilder()
                    .addServerNames(PAYMENTS)
                    .setDestinationPort(UInt32Value.of(15443)))
            .build();
    FilterChain twoFilters =
        GatewayConfigs.chain(CART, PAYMENTS).toBuilder()
            .addFilters(0, Filter.newBuilder().setName("envoy.filters.network.rbac"))
            .build();
    FilterChain weighted =
        FilterChain.newBuilder()
            .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames("weighted.example"))
            .addFilters(
                GatewayConfigs.tcpProxy(
                    TcpProxy.newBuilder()
                        .setWeightedClusters(
                            TcpProxy.WeightedCluster.newBuilder()
                                .addClusters(
                                    TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
                                        .setName(PAYMENTS)
                                        .setWeight(1)))
                        .build()))
            .build();
    FilterChain http =
        GatewayConfigs.chain("http.example", PAYMENTS).toBuilder()
            .setFilterChainMatch(
                FilterChainMatch.newBuilder()
                    .addServerNames("http.example")
                    .setTransportProtocol("raw_buffer"))
            .build();

    SniRoutes routes = SniRoutes.of(withChains(byPort, twoFilters, weighted, http));

    assertThat(routes.serverNames()).isEmpty();
    assertThat(routes.ignored()).hasSize(4);
    assertThat(String.join("\n", routes.ignored()))
        .contains("criteria besides server_names")
        .contains("2 filters")
        .contains("tcp_proxy without a cluster")
        .contains("transport_protocol 'raw_buffer'");
  }

  @Test
  void theFirstListenerByNameWinsADuplicatedName() {
    ProxyConfig config = GatewayConfigs.of(PAYMENTS, ENDPOINT);
    Listener other =
        GatewayConfigs.listener()
            .setName("0.0.0.0_15000")
            .addFilterChains(GatewayConfigs.chain(PAYMENTS, "elsewhere"))
            .build();
    ProxyConfig both =
        new ProxyConfig(
            Map.of(LISTENER, config.listeners().get(LISTENER), "0.0.0.0_15000", other),
            Map.of(),
            config.clusters(),
            config.endpoints());

    assertThat(SniRoutes.of(both).route(PAYMENTS).orElseThrow().cluster()).isEqualTo("elsewhere");
  }

  @Test
  void wildcardsMatchSubdomainsLongestFirstAndExactNamesWin() {
    ProxyConfig config =
        withChains(
            GatewayConfigs.chain("*.example", "any"),
            GatewayConfigs.chain("*.b.example", "b"),
            GatewayConfigs.chain("x.b.example", "exact"));
    SniRoutes routes = SniRoutes.of(config);

    assertThat(routes.route("x.b.example").orElseThrow().cluster()).isEqualTo("exact");
    assertThat(routes.route("y.b.example").orElseThrow().cluster()).isEqualTo("b");
    assertThat(routes.route("y.example").orElseThrow().cluster()).isEqualTo("any");
    assertThat(routes.route("example")).isEmpty();
    assertThat(routes.route(".example")).isEmpty();
  }

  @Test
  void attemptsAreTheTcpProxysMaxConnectAttempts() {
    FilterChain limited =
        FilterChain.newBuilder()
            .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(PAYMENTS))
            .addFilters(
                GatewayConfigs.tcpProxy(
                    TcpProxy.newBuilder()
                        .setCluster(PAYMENTS)
                        .setMaxConnectAttempts(UInt32Value.of(1))
                        .build()))
            .build();

    assertThat(SniRoutes.of(withChains(limited)).route(PAYMENTS).orElseThrow().connectAttempts())
        .isEqualTo(1);
  }
}
