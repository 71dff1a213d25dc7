package dev.fedmesh.controller.model;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.testkit.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeshModelTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");

  private final FakeClock clock = new FakeClock();
  private final List<MeshSnapshot> published = new ArrayList<>();
  private final MeshModel model =
      new MeshModel(
          clock.scheduler(),
          clock.clock(),
          clock.nanoTime(),
          new MeshModel.Settings(
              Duration.ofMillis(20),
              Duration.ofMillis(200),
              Duration.ofSeconds(30),
              Duration.ofMinutes(10),
              FailoverOrder.NONE),
          published::add);

  private static ClusterInfo east() {
    return new ClusterInfo(EAST, "east", EAST_A, List.of(), "fedmesh.local", "test");
  }

  private static ServiceEndpoints echo(String address) {
    return new ServiceEndpoints(
        EAST, ECHO, List.of(GRPC_7070), false, List.of(endpoint(address, 8080, EAST_A)));
  }

  @Test
  void aBurstOfChangesIsPublishedAsOneSnapshot() {
    model.replaceAll(5, List.of());
    model.apply(6, List.of(new MeshChange.ClusterPut(east()), new MeshChange.SessionPut(EAST)));
    model.apply(7, List.of(new MeshChange.ServicePut(echo("10.0.0.1"))));

    clock.forward(Duration.ofMillis(20));

    assertThat(published).hasSize(1);
    MeshSnapshot snapshot = published.get(0);
    assertThat(snapshot.revision()).isEqualTo(7);
    assertThat(snapshot.clusters().get(EAST).connected()).isTrue();
    assertThat(snapshot.services().get(ECHO).get(EAST)).isEqualTo(echo("10.0.0.1"));
    assertThat(model.current()).isSameAs(snapshot);
  }

  @Test
  void aLapsedSessionKeepsTheClusterAndItsEndpointsButMarksItDisconnected() {
    model.apply(
        2,
        List.of(
            new MeshChange.ClusterPut(east()),
            new MeshChange.SessionPut(EAST),
            new MeshChange.ServicePut(echo("10.0.0.1"))));
    model.apply(3, List.of(new MeshChange.SessionDeleted(EAST)));
    clock.forward(Duration.ofMillis(50));

    MeshSnapshot snapshot = model.current();
    assertThat(snapshot.clusters().get(EAST).connected()).isFalse();
    assertThat(snapshot.clusters().get(EAST).liveness()).isEqualTo(Liveness.GRACE);
    assertThat(snapshot.endpointCount(EAST)).isEqualTo(1);
  }

  @Test
  void aDisconnectedClusterIsDemotedAfterTheGraceAndExpiredAfterTheExpiryWithNoOtherChange() {
    model.apply(2, List.of(new MeshChange.ClusterPut(east()), new MeshChange.SessionPut(EAST)));
    clock.forward(Duration.ofMillis(50));
    model.apply(3, List.of(new MeshChange.SessionDeleted(EAST)));
    clock.forward(Duration.ofMillis(50));
    assertThat(model.current().clusters().get(EAST).liveness()).isEqualTo(Liveness.GRACE);

    clock.forward(Duration.ofSeconds(30));
    assertThat(model.current().clusters().get(EAST).liveness()).isEqualTo(Liveness.DEMOTED);

    clock.forward(Duration.ofMinutes(10));
    assertThat(model.current().clusters().get(EAST).liveness()).isEqualTo(Liveness.EXPIRED);

    model.apply(4, List.of(new MeshChange.SessionPut(EAST)));
    clock.forward(Duration.ofMillis(50));
    assertThat(model.current().clusters().get(EAST).liveness()).isEqualTo(Liveness.CONNECTED);
  }

  @Test
  void aDeletedServiceDisappearsAndARelistReplacesEverything() {
    model.apply(
        2, List.of(new MeshChange.ClusterPut(east()), new MeshChange.ServicePut(echo("10.0.0.1"))));
    model.apply(3, List.of(new MeshChange.ServiceDeleted(EAST, ECHO)));
    clock.forward(Duration.ofMillis(50));
    assertThat(model.current().services()).isEmpty();

    model.replaceAll(9, List.of(new MeshChange.ServicePut(echo("10.0.0.2"))));
    clock.forward(Duration.ofMillis(50));

    assertThat(model.current().clusters()).isEmpty();
    assertThat(model.current().services().get(ECHO).get(EAST)).isEqualTo(echo("10.0.0.2"));
    assertThat(model.current().revision()).isEqualTo(9);
  }
}
