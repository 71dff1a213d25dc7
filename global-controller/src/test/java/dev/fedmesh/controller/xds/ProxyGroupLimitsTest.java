package dev.fedmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.controller.ControllerMetrics;
import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.testkit.FakeClock;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Whoever can open a stream cannot make the controller keep an unbounded number of groups. */
class ProxyGroupLimitsTest {
  private final FakeClock clock = new FakeClock();

  private XdsPublisher publisher(int maxPerCluster, Duration idleTtl) {
    return new XdsPublisher(
        clock.clock(),
        clock.nanoTime(),
        new ControllerMetrics(),
        new XdsPublisher.GroupLimits(maxPerCluster, idleTtl));
  }

  @Test
  void aThousandMadeUpLocalitiesFromOneClientStopAtTheClusterLimit() throws Exception {
    XdsPublisher publisher = publisher(16, Duration.ofMinutes(5));
    int refused = 0;
    for (int i = 0; i < 1000; i++) {
      try {
        open(publisher, i, "east", "made-up-zone-" + i);
      } catch (RequestException e) {
        refused++;
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(e.getStatus().getDescription())
            .startsWith("proxy groups of cluster 'east': 16 (expected: at most 16 distinct");
      }
    }
    assertThat(publisher.groupCount()).isEqualTo(16);
    assertThat(refused).isEqualTo(984);

    open(publisher, 5000, "west", "us-west-a");
    assertThat(publisher.groupCount()).as("another cluster is not starved").isEqualTo(17);
  }

  @Test
  void aGroupWithoutStreamsIsDroppedAfterTheIdleTtlAndFreesItsPlace() throws Exception {
    XdsPublisher publisher = publisher(2, Duration.ofMinutes(1));
    open(publisher, 1, "east", "a");
    open(publisher, 2, "east", "b");
    assertThatThrownBy(() -> open(publisher, 3, "east", "c")).isInstanceOf(RequestException.class);

    publisher.onStreamClose(1, Resources.V3.CLUSTER_TYPE_URL);
    clock.forward(Duration.ofSeconds(30));
    assertThat(publisher.sweepIdleGroups()).as("dropped before the TTL").isZero();
    clock.forward(Duration.ofSeconds(31));
    assertThat(publisher.sweepIdleGroups()).isEqualTo(1);
    assertThat(publisher.groupCount()).isEqualTo(1);

    open(publisher, 4, "east", "c");
    clock.forward(Duration.ofHours(1));
    publisher.sweepIdleGroups();
    assertThat(publisher.groupCount()).as("groups with a stream stay").isEqualTo(2);
  }

  private static void open(XdsPublisher publisher, long stream, String cluster, String zone)
      throws RequestException {
    publisher.onStreamOpen(stream, Resources.V3.CLUSTER_TYPE_URL);
    publisher.onV3StreamRequest(
        stream,
        DiscoveryRequest.newBuilder()
            .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
            .setNode(
                Node.newBuilder()
                    .setId("proxy-" + stream)
                    .setCluster(cluster)
                    .setLocality(Locality.newBuilder().setRegion("r").setZone(zone))
                    .setMetadata(
                        Struct.newBuilder()
                            .putFields(
                                NodeMetadata.ROLE,
                                Value.newBuilder().setStringValue(NodeMetadata.ROLE_GRPC).build())))
            .build());
  }
}
