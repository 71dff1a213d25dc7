package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ProxyRole;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceKey;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import java.util.List;
import org.junit.jupiter.api.Test;

class XdsSnapshotTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final ProxyContext PROXY =
      new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "east", EAST_A);
  private static final ServiceKey OTHER = ServiceKey.of("default", "other");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";
  private static final String OTHER_EDS = "outbound|7070||other.default.svc.cluster.local";

  private static XdsSnapshot snapshot(String echoAddress, String otherAddress) {
    return XdsSnapshot.of(
        ConfigGenerator.generate(
            mesh()
                .cluster("east", "east", EAST_A)
                .service("east", ECHO, GRPC_7070, false, endpoint(echoAddress, 8080, EAST_A))
                .service("east", OTHER, GRPC_7070, false, endpoint(otherAddress, 8080, EAST_A))
                .build(),
            PROXY));
  }

  @Test
  void anEndpointChangeReversionsEndpointsOnly() {
    XdsSnapshot before = snapshot("10.0.0.1", "10.0.0.9");
    XdsSnapshot after = snapshot("10.0.0.2", "10.0.0.9");

    for (ResourceType type :
        List.of(ResourceType.CLUSTER, ResourceType.LISTENER, ResourceType.ROUTE)) {
      assertThat(after.version(type, List.of()))
          .as("%s", type)
          .isEqualTo(before.version(type, List.of()));
    }
    assertThat(after.version(ResourceType.ENDPOINT, List.of()))
        .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of()));
  }

  @Test
  void aProxyWatchingOneResourceIsNotPushedWhenAnotherChanges() {
    XdsSnapshot before = snapshot("10.0.0.1", "10.0.0.9");
    XdsSnapshot after = snapshot("10.0.0.1", "10.0.0.8");

    assertThat(after.version(ResourceType.ENDPOINT, List.of(ECHO_EDS)))
        .isEqualTo(before.version(ResourceType.ENDPOINT, List.of(ECHO_EDS)));
    assertThat(after.version(ResourceType.ENDPOINT, List.of(OTHER_EDS)))
        .isNotEqualTo(before.version(ResourceType.ENDPOINT, List.of(OTHER_EDS)));
  }

  @Test
  void namesThatDoNotExistHaveTheEmptyVersionSoTheWatchStaysOpen() {
    XdsSnapshot snapshot = snapshot("10.0.0.1", "10.0.0.9");

    assertThat(
            snapshot.version(
                ResourceType.LISTENER, List.of("missing.default.svc.cluster.local:80")))
        .isEmpty();
    assertThat(snapshot.version(ResourceType.LISTENER, List.of())).isNotEmpty();
    assertThat(snapshot.version(ResourceType.SECRET, List.of())).isNotEmpty();
  }

  @Test
  void equalContentGivesEqualVersionsOnEveryReplica() {
    assertThat(snapshot("10.0.0.1", "10.0.0.9").version(ResourceType.ENDPOINT, List.of()))
        .isEqualTo(snapshot("10.0.0.1", "10.0.0.9").version(ResourceType.ENDPOINT, List.of()));
  }
}
