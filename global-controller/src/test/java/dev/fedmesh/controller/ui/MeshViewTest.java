package dev.fedmesh.controller.ui;

import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.controller.traffic.TrafficScraper;
import dev.fedmesh.controller.xds.ProxyStatus;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshViewTest {
  private static final Instant NOW = Instant.parse("2026-12-04T10:00:00Z");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality EAST_B = Locality.of("us-east", "us-east-b");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  private static MeshSnapshot mesh() {
    return MeshFixtures.mesh()
        .cluster("east", "east", EAST_A, new GatewayAddress("127.1.0.1", 15443))
        .cluster("west", "west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
        .liveness("west", Liveness.DEMOTED)
        .service(
            "east",
            MeshFixtures.ECHO,
            MeshFixtures.GRPC_7070,
            true,
            endpoint("10.1.0.1", 7070, EAST_A),
            endpoint("10.1.0.2", 7070, EAST_B),
            endpoint("10.1.0.3", 7070, EAST_B, EndpointHealth.DRAINING))
        .service(
            "west",
            MeshFixtures.ECHO,
            MeshFixtures.GRPC_7070,
            false,
            endpoint("10.2.0.1", 7070, WEST_A))
        .build();
  }

  private static ObjectNode view(Map<String, ProxyStatus> proxies, TrafficScraper.Traffic traffic) {
    return MeshView.build(
        new MeshView.Inputs(
            "controller-0",
            true,
            mesh(),
            Map.of(ClusterName.of("east"), NOW),
            proxies,
            traffic,
            null),
        NOW);
  }

  private static TrafficScraper.Traffic noTraffic() {
    return new TrafficScraper.Traffic(
        null, Duration.ofSeconds(3), 0, 0, Map.of(), List.of(), List.of());
  }

  @Test
  void showsRegionsClustersAndTheirStateAndEndpointsPerZone() {
    ObjectNode view = view(Map.of(), noTraffic());

    assertThat(view.path("regions").toString())
        .isEqualTo(
            "[{\"name\":\"us-east\",\"clusters\":[\"east\"]},{\"name\":\"us-west\",\"clusters\":[\"west\"]}]");
    JsonNode east = view.path("clusters").get(0);
    assertThat(east.path("name").asText()).isEqualTo("east");
    assertThat(east.path("state").asText()).isEqualTo("up");
    assertThat(east.path("agentHere").asBoolean()).isTrue();
    assertThat(east.path("gateways").get(0).asText()).isEqualTo("127.1.0.1:15443");
    assertThat(east.path("zones").toString())
        .isEqualTo(
            "[{\"name\":\"us-east-a\",\"services\":[{\"service\":\"echo.default\",\"exported\":true,\"healthy\":1,\"draining\":0,\"unhealthy\":0}]},"
                + "{\"name\":\"us-east-b\",\"services\":[{\"service\":\"echo.default\",\"exported\":true,\"healthy\":1,\"draining\":1,\"unhealthy\":0}]}]");
    assertThat(
            view.path("clusters")
                .get(1)
                .path("zones")
                .get(0)
                .path("services")
                .get(0)
                .path("exported")
                .asBoolean())
        .as("west keeps echo to itself")
        .isFalse();

    JsonNode west = view.path("clusters").get(1);
    assertThat(west.path("state").asText()).as("its agent is gone").isEqualTo("down");
    assertThat(west.path("liveness").asText()).isEqualTo("DEMOTED");
    assertThat(west.path("endpointState").asText()).isEqualTo("demoted");
    assertThat(west.path("agentHere").asBoolean()).isFalse();

    JsonNode echo = view.path("services").get(0);
    assertThat(echo.path("host").asText()).isEqualTo("echo.default.svc.cluster.local");
    assertThat(echo.path("clusters").toString())
        .isEqualTo(
            "[{\"cluster\":\"east\",\"exported\":true,\"endpointState\":\"ready\",\"healthy\":2,\"draining\":1,\"unhealthy\":0},"
                + "{\"cluster\":\"west\",\"exported\":false,\"endpointState\":\"demoted\",\"healthy\":1,\"draining\":0,\"unhealthy\":0}]");
    assertThat(view.path("policies").path("available").asBoolean()).isFalse();
  }

  @Test
  void everyProxysWorstStateAndItsNackErrorInFull() {
    ProxyStatus synced =
        new ProxyStatus(
            "checkout-v1.shop",
            "g",
            "sidecar",
            "east",
            "us-east/us-east-a/",
            "shop",
            Map.of("app", "checkout", "version", "v1"),
            List.of("127.1.1.11"),
            NOW,
            Map.of(LDS, new ProxyStatus.TypeStatus("v2", "1", "v2", "", "")));
    ProxyStatus nacked =
        new ProxyStatus(
            "gw-east",
            "g2",
            "gateway",
            "east",
            "us-east/us-east-a/",
            "",
            Map.of(),
            List.of(),
            NOW,
            Map.of(
                LDS, new ProxyStatus.TypeStatus("v2", "1", "v2", "", ""),
                CDS,
                    new ProxyStatus.TypeStatus(
                        "v3", "2", "v2", "v3", "cluster outbound|80||a: unknown field 'x'")));

    ObjectNode view = view(Map.of("checkout-v1.shop", synced, "gw-east", nacked), noTraffic());

    JsonNode first = view.path("proxies").get(0);
    assertThat(first.path("workload").asText()).isEqualTo("checkout-v1");
    assertThat(first.path("state").asText()).isEqualTo("SYNCED");
    assertThat(first.path("types").path("LDS").path("state").asText()).isEqualTo("SYNCED");
    JsonNode second = view.path("proxies").get(1);
    assertThat(second.path("workload").asText()).isEqualTo("gw-east");
    assertThat(second.path("state").asText()).isEqualTo("NACKED");
    assertThat(second.path("types").path("CDS").path("error").asText())
        .isEqualTo("cluster outbound|80||a: unknown field 'x'");
    assertThat(view.path("clusters").get(0).path("proxies").asInt()).isEqualTo(2);
  }

  @Test
  void carriesTheTrafficWithItsWindowInSeconds() {
    TrafficScraper.Traffic traffic =
        new TrafficScraper.Traffic(
            NOW,
            Duration.ofSeconds(3),
            12,
            0,
            Map.of("payments.west", "connection refused"),
            List.of(
                new TrafficScraper.Edge(
                    new TrafficScraper.Peer("loadgen-v1", "shop", "east"),
                    new TrafficScraper.Peer("payments-v1", "shop", "central"),
                    "payments.shop.svc.cluster.local",
                    true,
                    20,
                    0)),
            List.of(new TrafficScraper.ClusterEdge("east", "central", 20, 0)));

    JsonNode json = view(Map.of(), traffic).path("traffic");

    assertThat(json.path("windowSeconds").asDouble()).isEqualTo(3.0);
    assertThat(json.path("unreachable").path("payments.west").asText())
        .isEqualTo("connection refused");
    assertThat(json.path("clusters").get(0).toString())
        .isEqualTo(
            "{\"source\":\"east\",\"destination\":\"central\",\"requestsPerSecond\":20.0,\"errorsPerSecond\":0.0}");
    assertThat(json.path("edges").get(0).path("crossCluster").asBoolean()).isTrue();
  }

  @Test
  void listsPoliciesWithHowManyProxiesHoldThem() throws Exception {
    JsonNode listing =
        MeshView.JSON.readTree(
            """
            {"revision": 9, "items": [{"document": {"apiVersion": "networking.istio.io/v1",
              "kind": "DestinationRule", "metadata": {"name": "payments", "namespace": "shop",
              "resourceVersion": "8"}}, "status": {"inMesh": true, "proxiesSynced": 11,
              "proxies": 12, "proxiesWaiting": ["gateway.west"]}}], "invalid": ["/fedmesh/v1/policies/x: not a policy"]}
            """);

    JsonNode policies =
        MeshView.build(
                new MeshView.Inputs(
                    "controller-0", true, mesh(), Map.of(), Map.of(), noTraffic(), listing),
                NOW)
            .path("policies");

    assertThat(policies.path("available").asBoolean()).isTrue();
    assertThat(policies.path("items").get(0).toString())
        .isEqualTo(
            "{\"kind\":\"DestinationRule\",\"apiVersion\":\"networking.istio.io/v1\",\"namespace\":\"shop\","
                + "\"name\":\"payments\",\"resourceVersion\":\"8\",\"inMesh\":true,\"proxiesSynced\":11,\"proxies\":12,"
                + "\"proxiesWaiting\":[\"gateway.west\"]}");
    assertThat(policies.path("invalid").get(0).asText())
        .isEqualTo("/fedmesh/v1/policies/x: not a policy");
  }
}
