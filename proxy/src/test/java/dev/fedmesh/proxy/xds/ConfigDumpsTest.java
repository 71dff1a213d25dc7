package dev.fedmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigDumpsTest {
  /** Extensions at several depths: a filter's config inside a filter inside a listener. */
  private static ProxyConfig config() {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("inbound")
            .setRouteConfig(RouteConfiguration.newBuilder().setName("inbound|8080||"))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName("envoy.filters.http.rbac")
                    .setTypedConfig(
                        Any.pack(
                            io.envoyproxy
                                .envoy
                                .extensions
                                .filters
                                .http
                                .rbac
                                .v3
                                .RBAC
                                .newBuilder()
                                .setRules(RBAC.newBuilder().setAction(RBAC.Action.DENY))
                                .build())))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName("envoy.filters.http.fault")
                    .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName("envoy.filters.http.router")
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    Listener listener =
        Listener.newBuilder()
            .setName("virtualInbound")
            .addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(
                        Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(Any.pack(manager))))
            .build();
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("payments")
                    .addDomains("payments")
                    .addRoutes(
                        Route.newBuilder()
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setCluster("payments")
                                    .setRetryPolicy(
                                        RetryPolicy.newBuilder()
                                            .addRetryHostPredicate(
                                                RetryPolicy.RetryHostPredicate.newBuilder()
                                                    .setName(
                                                        "envoy.retry_host_predicates.previous_hosts")
                                                    .setTypedConfig(
                                                        Any.pack(
                                                            PreviousHostsPredicate
                                                                .getDefaultInstance())))))))
            .build();
    Cluster cluster =
        Cluster.newBuilder()
            .setName("payments")
            .setTransportSocket(
                TransportSocket.newBuilder()
                    .setName("envoy.transport_sockets.tls")
                    .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setSni("p").build())))
            .build();
    return new ProxyConfig(
        Map.of("virtualInbound", listener),
        Map.of("outbound", routes),
        Map.of("payments", cluster),
        Map.of());
  }

  @Test
  void everyExtensionTypeInTheConfigIsPrintedWhateverItsDepth() throws Exception {
    String dump = ConfigDumps.json(config());

    assertThat(new ObjectMapper().readTree(dump).path("configs")).hasSize(4);
    assertThat(dump)
        .contains(
            "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "\"action\": \"DENY\"",
            "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
            "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3"
                + ".PreviousHostsPredicate",
            "\"sni\": \"p\"");
  }

  @Test
  void aTypeThisProxyDoesNotKnowIsNamed() {
    Cluster cluster =
        Cluster.newBuilder()
            .setName("x")
            .setTransportSocket(
                TransportSocket.newBuilder()
                    .setTypedConfig(
                        Any.newBuilder()
                            .setTypeUrl("type.googleapis.com/example.v1.Unknown")
                            .setValue(ByteString.EMPTY)))
            .build();

    assertThatThrownBy(
            () ->
                ConfigDumps.json(
                    new ProxyConfig(Map.of(), Map.of(), Map.of("x", cluster), Map.of())))
        .hasMessageContaining("example.v1.Unknown");
  }

  @Test
  void theDnsListenerAndItsTablePrint() throws Exception {
    Listener dns =
        dev.fedmesh.proxy.dns.DnsListeners.listener(
            new java.net.InetSocketAddress("127.0.0.1", 15053),
            dev.fedmesh.proxy.dns.DnsListeners.filter(
                    io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                        .addVirtualDomains(
                            dev.fedmesh.proxy.dns.DnsListeners.domain(
                                "payments.shop.svc.cluster.local", "10.0.0.1", "fd00::1"))
                        .build(),
                    java.time.Duration.ofSeconds(5),
                    new java.net.InetSocketAddress("10.96.0.10", 53))
                .build());

    String dump =
        ConfigDumps.json(new ProxyConfig(Map.of("dns", dns), Map.of(), Map.of(), Map.of()));

    assertThat(dump)
        .contains(
            "type.googleapis.com/envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig",
            "\"protocol\": \"UDP\"",
            "\"name\": \"payments.shop.svc.cluster.local\"",
            "\"fd00::1\"",
            "\"address\": \"10.96.0.10\"");
  }
}
