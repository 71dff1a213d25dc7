package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.controller.ControllerWithAgent;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Delta xDS: only what changed is sent, and a resource that goes away is named as removed. */
class DeltaXdsIT {
  private static final ServiceKey OTHER = ServiceKey.of("default", "other");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";
  private static final String OTHER_EDS = "outbound|7070||other.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void deltaSubscribersGetChangedResourcesOnlyAndRemovals() throws Exception {
    List<DeltaDiscoveryResponse> responses = new CopyOnWriteArrayList<>();
    try (ControllerWithAgent mesh = ControllerWithAgent.start(etcd.endpoints())) {
      mesh.announce(Map.of(ECHO, List.of("10.0.0.1"), OTHER, List.of("10.0.1.1")));
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", mesh.xdsPort()).usePlaintext().build();
      AtomicReference<StreamObserver<DeltaDiscoveryRequest>> requests = new AtomicReference<>();
      requests.set(
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .deltaAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DeltaDiscoveryResponse response) {
                      responses.add(response);
                      requests
                          .get()
                          .onNext(
                              DeltaDiscoveryRequest.newBuilder()
                                  .setTypeUrl(response.getTypeUrl())
                                  .setResponseNonce(response.getNonce())
                                  .build());
                    }

                    @Override
                    public void onError(Throwable error) {}

                    @Override
                    public void onCompleted() {}
                  }));
      requests
          .get()
          .onNext(
              DeltaDiscoveryRequest.newBuilder()
                  .setNode(
                      Node.newBuilder()
                          .setId("delta-proxy")
                          .setCluster("east")
                          .setMetadata(
                              Struct.newBuilder()
                                  .putFields(
                                      "FEDMESH_ROLE",
                                      Value.newBuilder().setStringValue("grpc").build())))
                  .setTypeUrl(AdsTestClient.EDS)
                  .addResourceNamesSubscribe(ECHO_EDS)
                  .addResourceNamesSubscribe(OTHER_EDS)
                  .build());
      await().atMost(Duration.ofSeconds(20)).until(() -> state(responses).size() == 2);

      mesh.announce(Map.of(ECHO, List.of("10.0.0.2"), OTHER, List.of("10.0.1.1")));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> endpointOf(state(responses).get(ECHO_EDS)).equals("10.0.0.2"));
      DeltaDiscoveryResponse update = responses.get(responses.size() - 1);
      assertThat(update.getResourcesList()).extracting(Resource::getName).containsExactly(ECHO_EDS);

      mesh.announce(Map.of(ECHO, List.of("10.0.0.2")));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  responses.stream()
                      .anyMatch(r -> r.getRemovedResourcesList().contains(OTHER_EDS)));
      assertThat(state(responses)).containsOnlyKeys(ECHO_EDS);
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The client's view after applying every delta response in order. */
  private static Map<String, ClusterLoadAssignment> state(List<DeltaDiscoveryResponse> responses) {
    Map<String, ClusterLoadAssignment> state = new HashMap<>();
    for (DeltaDiscoveryResponse response : responses) {
      for (Resource resource : response.getResourcesList()) {
        try {
          state.put(resource.getName(), resource.getResource().unpack(ClusterLoadAssignment.class));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      }
      response.getRemovedResourcesList().forEach(state::remove);
    }
    return state;
  }

  private static String endpointOf(ClusterLoadAssignment assignment) {
    if (assignment == null || assignment.getEndpointsCount() == 0) {
      return "";
    }
    return assignment
        .getEndpoints(0)
        .getLbEndpoints(0)
        .getEndpoint()
        .getAddress()
        .getSocketAddress()
        .getAddress();
  }
}
