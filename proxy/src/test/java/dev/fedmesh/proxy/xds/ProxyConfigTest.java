package dev.fedmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyConfigTest {
  @Test
  void reachableHostsAreThoseRoutedToAClusterWithEndpoints() {
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(host("payments", "payments.shop.svc.cluster.local", "payments"))
            .addVirtualHosts(host("checkout", "checkout.shop.svc.cluster.local", "checkout"))
            .addVirtualHosts(host("gone", "gone.shop.svc.cluster.local", "not-a-cluster"))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("canary")
                    .addDomains("canary.shop.svc.cluster.local")
                    .addRoutes(
                        Route.newBuilder()
                            .setRoute(
                                RouteAction.newBuilder()
                                    .setWeightedClusters(
                                        WeightedCluster.newBuilder()
                                            .addClusters(weighted("checkout-empty"))
                                            .addClusters(weighted("payments"))))))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("static")
                    .addDomains("static.example")
                    .addRoutes(
                        Route.newBuilder()
                            .setDirectResponse(DirectResponseAction.newBuilder().setStatus(200))))
            .build();
    ProxyConfig config =
        new ProxyConfig(
            Map.of(),
            Map.of("outbound", routes),
            Map.of(
                "payments", cluster("payments"),
                "checkout", cluster("checkout"),
                "checkout-empty", cluster("checkout-empty")),
            Map.of(
                "payments", assignment("payments", 1),
                "checkout", assignment("checkout", 0),
                "checkout-empty", assignment("checkout-empty", 0)));

    assertThat(config.reachableHosts())
        .containsExactly("canary.shop.svc.cluster.local", "payments.shop.svc.cluster.local");
    assertThat(ProxyConfig.EMPTY.reachableHosts()).isEmpty();
  }

  private static VirtualHost host(String name, String domain, String cluster) {
    return VirtualHost.newBuilder()
        .setName(name)
        .addDomains(domain)
        .addRoutes(Route.newBuilder().setRoute(RouteAction.newBuilder().setCluster(cluster)))
        .build();
  }

  private static WeightedCluster.ClusterWeight weighted(String cluster) {
    return WeightedCluster.ClusterWeight.newBuilder().setName(cluster).build();
  }

  private static Cluster cluster(String name) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS).build();
  }

  private static ClusterLoadAssignment assignment(String name, int endpoints) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
    for (int i = 0; i < endpoints; i++) {
      locality.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress("10.0.0." + (i + 1))
                                      .setPortValue(8080)))));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality).build();
  }
}
