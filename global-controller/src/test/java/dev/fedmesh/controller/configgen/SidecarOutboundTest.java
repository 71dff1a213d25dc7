package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The outbound listener as intercepted pods' sidecars use it: TCP services matched by destination,
 * HTTP by its first bytes, everything else by the outbound traffic policy.
 */
class SidecarOutboundTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final ServiceKey REDIS = ServiceKey.of("default", "redis");
  private static final ServicePort TCP_9000 = new ServicePort("grpc", 9000, Protocol.TCP);
  private static final String REDIS_CLUSTER = "outbound|9000||redis.default.svc.cluster.local";

  @Test
  void aTcpServiceGetsAChainMatchingItsDirectEndpointsAndTargetPort() throws Exception {
    MeshSnapshot snapshot =
        mesh()
            .cluster("east", "east", EAST_A)
            .cluster("west", "net-west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
            .service(
                "east",
                REDIS,
                TCP_9000,
                true,
                endpoint("10.1.0.2", 6379, EAST_A),
                endpoint("10.1.0.1", 6379, EAST_A))
            .service("west", REDIS, TCP_9000, true, endpoint("10.2.0.1", 6379, WEST_A))
            .build();

    XdsResources sidecar =
        ConfigGenerator.generate(
            snapshot, new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A));

    Listener outbound = sidecar.listeners().get("virtualOutbound");
    FilterChain redis = outbound.getFilterChains(0);
    assertThat(redis.getName()).isEqualTo(REDIS_CLUSTER);
    assertThat(redis.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(6379);
    // West's endpoint is on another network: reached through its gateway, never by its address.
    assertThat(redis.getFilterChainMatch().getPrefixRangesList())
        .extracting(CidrRange::getAddressPrefix, range -> range.getPrefixLen().getValue())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.1.0.1", 32),
            org.assertj.core.groups.Tuple.tuple("10.1.0.2", 32));
    assertThat(redis.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster())
        .isEqualTo(REDIS_CLUSTER);
    assertThat(sidecar.clusters()).containsKey(REDIS_CLUSTER);
    assertThat(ResourceConsistency.problems(sidecar)).isEmpty();
  }

  @Test
  void httpIsRecognisedByItsFirstBytesAndUnknownDestinationsPassThroughByDefault()
      throws Exception {
    XdsResources sidecar =
        ConfigGenerator.generate(
            mesh().cluster("east", "east", EAST_A).build(),
            new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A));

    Listener outbound = sidecar.listeners().get("virtualOutbound");
    assertThat(outbound.getUseOriginalDst().getValue()).isTrue();
    assertThat(outbound.getListenerFilters(0).getTypedConfig().is(HttpInspector.class)).isTrue();
    FilterChain http = outbound.getFilterChains(outbound.getFilterChainsCount() - 1);
    assertThat(http.getFilterChainMatch().getApplicationProtocolsList())
        .containsExactly("http/1.1", "h2c");
    assertThat(http.getFilters(0).getTypedConfig().is(HttpConnectionManager.class)).isTrue();
    assertThat(
            outbound
                .getDefaultFilterChain()
                .getFilters(0)
                .getTypedConfig()
                .unpack(TcpProxy.class)
                .getCluster())
        .isEqualTo("PassthroughCluster");
    Cluster passthrough = sidecar.clusters().get("PassthroughCluster");
    assertThat(passthrough.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    assertThat(passthrough.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
  }

  @Test
  void registryOnlySendsUnknownDestinationsToAClusterWithNoHosts() throws Exception {
    Listener outbound =
        SidecarOutbound.listener(List.of(), SidecarOutbound.OutboundTrafficPolicy.REGISTRY_ONLY);
    Cluster blackhole =
        SidecarOutbound.fallbackCluster(SidecarOutbound.OutboundTrafficPolicy.REGISTRY_ONLY);

    assertThat(
            outbound
                .getDefaultFilterChain()
                .getFilters(0)
                .getTypedConfig()
                .unpack(TcpProxy.class)
                .getCluster())
        .isEqualTo("BlackHoleCluster");
    assertThat(blackhole.getName()).isEqualTo("BlackHoleCluster");
    assertThat(blackhole.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(blackhole.getLoadAssignment().getEndpointsList()).isEmpty();
  }
}
