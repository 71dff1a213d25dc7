package dev.fedmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import org.junit.jupiter.api.Test;

/** What the proxy accepts and refuses of the features it enforces like Envoy, by field. */
class XdsResourceRulesTest {
  private static Cluster.Builder eds(Cluster.LbPolicy policy) {
    return Cluster.newBuilder()
        .setName("web")
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder()
                .setEdsConfig(
                    ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .setLbPolicy(policy);
  }

  @Test
  void ringHashAndMaglevAreAcceptedWithinEnvoysLimits() {
    assertThat(XdsResourceRules.check(eds(Cluster.LbPolicy.RING_HASH).build())).isEmpty();
    assertThat(XdsResourceRules.check(eds(Cluster.LbPolicy.MAGLEV).build())).isEmpty();
    assertThat(
            XdsResourceRules.check(
                eds(Cluster.LbPolicy.MAGLEV)
                    .setMaglevLbConfig(
                        Cluster.MaglevLbConfig.newBuilder().setTableSize(UInt64Value.of(251)))
                    .build()))
        .isEmpty();
  }

  @Test
  void aRingOrTableWeCannotBuildLikeEnvoyIsRefusedByField() {
    assertThat(
            XdsResourceRules.check(
                eds(Cluster.LbPolicy.MAGLEV)
                    .setMaglevLbConfig(
                        Cluster.MaglevLbConfig.newBuilder().setTableSize(UInt64Value.of(1000)))
                    .build()))
        .containsExactly(
            "cluster 'web': maglev_lb_config.table_size: 1000 (expected: a prime number up to"
                + " 5000011)");
    assertThat(
            XdsResourceRules.check(
                eds(Cluster.LbPolicy.RING_HASH)
                    .setRingHashLbConfig(
                        Cluster.RingHashLbConfig.newBuilder()
                            .setMinimumRingSize(UInt64Value.of(4096))
                            .setMaximumRingSize(UInt64Value.of(1024))
                            .setHashFunction(Cluster.RingHashLbConfig.HashFunction.MURMUR_HASH_2))
                    .build()))
        .containsExactly(
            "cluster 'web': ring_hash_lb_config.minimum_ring_size: 4096 (expected: <="
                + " maximum_ring_size 1024)",
            "cluster 'web': ring_hash_lb_config.hash_function: MURMUR_HASH_2 (expected: XX_HASH)");
    assertThat(XdsResourceRules.check(eds(Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG).build()))
        .singleElement()
        .asString()
        .contains("lb_policy: LOAD_BALANCING_POLICY_CONFIG (expected: ROUND_ROBIN");
  }

  @Test
  void aRouteConfigurationIsRefusedNamingTheVirtualHostRouteAndField() {
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("shop")
                    .addDomains("shop.test")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setCluster("web")
                                    .addHashPolicy(
                                        RouteAction.HashPolicy.newBuilder()
                                            .setFilterState(
                                                RouteAction.HashPolicy.FilterState.newBuilder()
                                                    .setKey("k"))))))
            .build();

    assertThat(XdsResourceRules.check(routes))
        .containsExactly(
            "route configuration 'outbound': virtual host 'shop' routes[0].route.hash_policy[0]:"
                + " filter_state (expected: header, query_parameter, cookie or"
                + " connection_properties.source_ip)");
  }

  private static Cluster.Builder dns(Cluster.DiscoveryType type, String... names) {
    var assignment =
        io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
            .setClusterName("api");
    var group = io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder();
    for (String name : names) {
      group.addLbEndpoints(
          io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder()
              .setEndpoint(
                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                      .setAddress(
                          io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                              .setSocketAddress(
                                  io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder()
                                      .setAddress(name)
                                      .setPortValue(443)))));
    }
    return Cluster.newBuilder()
        .setName("api")
        .setType(type)
        .setLoadAssignment(assignment.addEndpoints(group));
  }

  @Test
  void dnsClustersFollowEnvoysRulesAndRefuseTtls() {
    assertThat(
            XdsResourceRules.check(
                dns(Cluster.DiscoveryType.STRICT_DNS, "a.test", "b.test").build()))
        .isEmpty();
    assertThat(
            XdsResourceRules.check(
                dns(Cluster.DiscoveryType.LOGICAL_DNS, "a.test", "b.test")
                    .setRespectDnsTtl(true)
                    .setDnsRefreshRate(com.google.protobuf.Duration.getDefaultInstance())
                    .build()))
        .containsExactly(
            "cluster 'api': dns_refresh_rate: 0s (expected: at least 1ms)",
            "cluster 'api': respect_dns_ttl: true (expected: false; the JDK's resolver reports no"
                + " TTL, names are looked up again every dns_refresh_rate)",
            "cluster 'api': load_assignment: 2 endpoints (expected: one for a LOGICAL_DNS"
                + " cluster)");
  }

  private static io.envoyproxy.envoy.config.core.v3.TransportSocket originate(
      io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.Builder
          validation) {
    return io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(
            com.google.protobuf.Any.pack(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                    .newBuilder()
                    .setSni("api.example.com")
                    .setCommonTlsContext(
                        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext
                            .newBuilder()
                            .setValidationContext(validation))
                    .build()))
        .build();
  }

  @Test
  void originatedTlsMustBeVerifiableWithRootsThatCanBeRead() {
    var validation =
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext
            .newBuilder();
    assertThat(
            XdsResourceRules.check(
                dns(Cluster.DiscoveryType.STRICT_DNS, "api.example.com")
                    .setTransportSocket(originate(validation))
                    .build()))
        .containsExactly(
            "cluster 'api': transport_socket: common_tls_context.validation_context: neither"
                + " trusted_ca nor system_root_certs (expected: one; fedmesh does not originate"
                + " TLS it cannot verify)");
    assertThat(
            XdsResourceRules.check(
                dns(Cluster.DiscoveryType.STRICT_DNS, "api.example.com")
                    .setTransportSocket(
                        originate(
                            validation
                                .clone()
                                .setTrustedCa(
                                    io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                        .setFilename("/nonexistent/ca.pem"))))
                    .build()))
        .singleElement()
        .asString()
        .startsWith(
            "cluster 'api': transport_socket: common_tls_context.validation_context.trusted_ca:")
        .contains("/nonexistent/ca.pem");
    assertThat(
            XdsResourceRules.check(
                dns(Cluster.DiscoveryType.STRICT_DNS, "api.example.com")
                    .setTransportSocket(
                        originate(
                            validation
                                .clone()
                                .clearTrustedCa()
                                .setSystemRootCerts(
                                    io.envoyproxy.envoy.extensions.transport_sockets.tls.v3
                                        .CertificateValidationContext.SystemRootCerts
                                        .getDefaultInstance())))
                    .build()))
        .isEmpty();
  }

  @Test
  void theDnsListenerIsCheckedWholeAndEachProblemNamesTheListenerAndField() {
    var good =
        dev.fedmesh.proxy.dns.DnsListeners.listener(
            new java.net.InetSocketAddress("127.0.0.1", 15053),
            dev.fedmesh.proxy.dns.DnsListeners.filter(
                    io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                        .addVirtualDomains(
                            dev.fedmesh.proxy.dns.DnsListeners.domain(
                                "payments.shop.svc.cluster.local", "10.0.0.1"))
                        .build(),
                    java.time.Duration.ofSeconds(5))
                .build());
    var bad =
        dev.fedmesh.proxy.dns.DnsListeners.listener(
            new java.net.InetSocketAddress("127.0.0.1", 15053),
            dev.fedmesh.proxy.dns.DnsListeners.filter(
                    io.envoyproxy.envoy.data.dns.v3.DnsTable.newBuilder()
                        .addVirtualDomains(
                            dev.fedmesh.proxy.dns.DnsListeners.domain("", "10.0.0.1"))
                        .build(),
                    java.time.Duration.ofSeconds(5))
                .build());

    assertThat(XdsResourceRules.check(good)).isEmpty();
    assertThat(XdsResourceRules.check(bad))
        .containsExactly(
            "listener 'dns': listener_filters[0].typed_config.server_config.inline_dns_table"
                + ".virtual_domains[0].name: empty (expected: a DNS name)");
    assertThat(XdsResourceRules.rdsNames(good)).isEmpty();
  }
}
