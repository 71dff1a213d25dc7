package dev.fedmesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ServiceState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FederationCodecTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");

  @Test
  void aServiceSurvivesTheRoundTripThroughTheProtocol() throws Exception {
    ServiceEndpoints service =
        new ServiceEndpoints(
            EAST,
            ServiceKey.of("shop", "checkout"),
            List.of(
                new ServicePort("http", 8080, Protocol.HTTP),
                new ServicePort("grpc", 9090, Protocol.GRPC)),
            true,
            List.of(
                new Endpoint(
                    "10.0.0.1",
                    Map.of("http", 18080, "grpc", 19090),
                    EAST_A,
                    EndpointHealth.DRAINING,
                    Map.of("version", "v2"),
                    "checkout",
                    3,
                    "checkout-7d9f")));

    ServiceEndpoints decoded =
        FederationCodec.serviceEndpoints(EAST, FederationCodec.serviceState(service));

    assertThat(decoded).isEqualTo(service);
  }

  @Test
  void aClusterSurvivesTheRoundTripThroughHello() throws Exception {
    ClusterInfo info =
        new ClusterInfo(
            EAST,
            "net-east",
            EAST_A,
            List.of(new GatewayAddress("127.1.0.1", 15443)),
            "fedmesh.local",
            "1.0",
            "0a1b2c3d");

    assertThat(FederationCodec.clusterInfo(FederationCodec.hello(info))).isEqualTo(info);
  }

  @Test
  void aCaKeyIdThatIsNoHexIsRefused() {
    Hello hello =
        FederationCodec.hello(
                new ClusterInfo(EAST, "net-east", EAST_A, List.of(), "fedmesh.local", "1.0"))
            .toBuilder()
            .setCaKeyId("not hex")
            .build();

    assertThatThrownBy(() -> FederationCodec.clusterInfo(hello))
        .isInstanceOfSatisfying(
            InvalidMessageException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "hello.ca_key_id: 'not hex' (expected: lower-case hex of the CA's subject"
                            + " key identifier)"));
  }

  @Test
  void everyProblemOfAServiceIsListedWithItsField() {
    ServiceState state =
        ServiceState.newBuilder()
            .setNamespace("shop")
            .setName("checkout")
            .addPorts(dev.fedmesh.federation.v1.ServicePort.newBuilder().setName("http").setPort(0))
            .addEndpoints(
                dev.fedmesh.federation.v1.Endpoint.newBuilder()
                    .setAddress("10.0.0.1")
                    .setReady(true))
            .addEndpoints(
                dev.fedmesh.federation.v1.Endpoint.newBuilder()
                    .setAddress("pod-2.local")
                    .setReady(true))
            .addEndpoints(
                dev.fedmesh.federation.v1.Endpoint.newBuilder()
                    .setAddress("10.0.0.3")
                    .setLocality(dev.fedmesh.federation.v1.Locality.newBuilder().setZone("a")))
            .build();

    assertThatThrownBy(() -> FederationCodec.serviceEndpoints(EAST, state))
        .isInstanceOfSatisfying(
            InvalidMessageException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "service.ports[0].port: 0 (expected: 1..65535)",
                        "service.endpoints[1].address: 'pod-2.local' (expected: an IPv4 or IPv6 address)",
                        "service.endpoints[2].locality.zone: 'a' (expected: a region when a zone is given)"));
  }

  @Test
  void anEndpointPortMustNameAServicePort() {
    ServiceState state =
        ServiceState.newBuilder()
            .setNamespace("shop")
            .setName("checkout")
            .addPorts(
                dev.fedmesh.federation.v1.ServicePort.newBuilder().setName("http").setPort(80))
            .addEndpoints(
                dev.fedmesh.federation.v1.Endpoint.newBuilder()
                    .setAddress("10.0.0.1")
                    .addPorts(
                        dev.fedmesh.federation.v1.EndpointPort.newBuilder()
                            .setName("grpc")
                            .setPort(9090)))
            .build();

    assertThatThrownBy(() -> FederationCodec.serviceEndpoints(EAST, state))
        .hasMessage(
            "service.endpoints[0].ports: 'grpc' (expected: one of the service's port names [http])");
  }

  @Test
  void aHelloWithoutNameOrTrustDomainIsRefused() {
    Hello hello =
        Hello.newBuilder()
            .setProtocolVersion(dev.fedmesh.federation.v1.ProtocolVersion.PROTOCOL_VERSION_1)
            .setCluster("East_1")
            .build();

    assertThatThrownBy(() -> FederationCodec.clusterInfo(hello))
        .isInstanceOfSatisfying(
            InvalidMessageException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "hello.cluster: 'East_1' (expected: a DNS label, lower-case letters, digits and '-')",
                        "hello.trust_domain: '' (expected: a trust domain such as fedmesh.local)"));
  }

  @Test
  void endpointHealthFollowsKubernetesConditions() {
    assertThat(EndpointHealth.fromConditions(true, true, false)).isEqualTo(EndpointHealth.HEALTHY);
    assertThat(EndpointHealth.fromConditions(false, true, true)).isEqualTo(EndpointHealth.DRAINING);
    assertThat(EndpointHealth.fromConditions(false, false, true))
        .isEqualTo(EndpointHealth.UNHEALTHY);
    assertThat(EndpointHealth.fromConditions(false, false, false))
        .isEqualTo(EndpointHealth.UNHEALTHY);
  }
}
