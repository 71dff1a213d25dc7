package dev.fedmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.configgen.XdsResources;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ConfigRolloutTest {
  private static XdsSnapshot snapshot(List<String> clusters, String routedTo) {
    TreeMap<String, Cluster> c = new TreeMap<>();
    TreeMap<String, ClusterLoadAssignment> e = new TreeMap<>();
    for (String name : clusters) {
      c.put(name, Cluster.newBuilder().setName(name).build());
      e.put(name, ClusterLoadAssignment.newBuilder().setClusterName(name).build());
    }
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("checkout")
                    .addDomains("checkout")
                    .addRoutes(
                        Route.newBuilder().setRoute(RouteAction.newBuilder().setCluster(routedTo))))
            .build();
    return XdsSnapshot.of(
        new XdsResources(new TreeMap<>(), new TreeMap<>(Map.of("outbound", routes)), c, e));
  }

  private static String routedTo(XdsSnapshot snapshot) {
    RouteConfiguration routes =
        (RouteConfiguration) snapshot.resources(Resources.ResourceType.ROUTE).get("outbound");
    return routes.getVirtualHosts(0).getRoutes(0).getRoute().getCluster();
  }

  private static java.util.Set<String> clusters(XdsSnapshot snapshot) {
    return snapshot.resources(Resources.ResourceType.CLUSTER).keySet();
  }

  @Test
  void aRouteToANewClusterFollowsTheCluster() {
    XdsSnapshot served = snapshot(List.of("base"), "base");
    XdsSnapshot next = snapshot(List.of("base", "v2"), "v2");

    List<XdsSnapshot> stages = ConfigRollout.stages(served, next);

    assertThat(stages).hasSize(2).last().isSameAs(next);
    assertThat(clusters(stages.get(0))).containsExactlyInAnyOrder("base", "v2");
    assertThat(routedTo(stages.get(0))).as("the routes the proxy already has").isEqualTo("base");
  }

  @Test
  void aClusterGoesOnlyAfterRoutesLeftIt() {
    XdsSnapshot served = snapshot(List.of("base", "v2"), "v2");
    XdsSnapshot next = snapshot(List.of("base"), "base");

    List<XdsSnapshot> stages = ConfigRollout.stages(served, next);

    assertThat(stages).hasSize(2).last().isSameAs(next);
    assertThat(routedTo(stages.get(0))).isEqualTo("base");
    assertThat(clusters(stages.get(0))).containsExactlyInAnyOrder("base", "v2");
  }

  @Test
  void swappingClustersTakesThreeSteps() {
    XdsSnapshot served = snapshot(List.of("v1"), "v1");
    XdsSnapshot next = snapshot(List.of("v2"), "v2");

    List<XdsSnapshot> stages = ConfigRollout.stages(served, next);

    assertThat(stages).hasSize(3);
    assertThat(routedTo(stages.get(0))).isEqualTo("v1");
    assertThat(clusters(stages.get(0))).containsExactlyInAnyOrder("v1", "v2");
    assertThat(routedTo(stages.get(1))).isEqualTo("v2");
    assertThat(clusters(stages.get(1))).containsExactlyInAnyOrder("v1", "v2");
    assertThat(stages.get(2)).isSameAs(next);
  }

  @Test
  void changesThatKeepTheClustersOrTheRoutesGoAtOnce() {
    XdsSnapshot served = snapshot(List.of("v1", "v2"), "v1");
    assertThat(ConfigRollout.stages(served, snapshot(List.of("v1", "v2"), "v2"))).hasSize(1);
    assertThat(ConfigRollout.stages(served, snapshot(List.of("v1", "v2", "v3"), "v1")))
        .as("a new cluster no route names yet")
        .hasSize(1);
    assertThat(ConfigRollout.stages(null, served)).containsExactly(served);
  }
}
