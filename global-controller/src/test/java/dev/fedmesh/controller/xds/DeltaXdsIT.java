package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
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
import java.net.InetSocketAddress;
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
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final ServiceKey OTHER = ServiceKey.of("default", "other");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";
  private static final String OTHER_EDS = "outbound|7070||other.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void deltaSubscribersGetChangedResourcesOnlyAndRemovals() throws Exception {
    AtomicReference<EndpointSource.Listener> source = new AtomicReference<>();
    ClusterInfo east = new ClusterInfo(EAST, "east", EAST_A, List.of(), "fedmesh.local", "test");
    List<DeltaDiscoveryResponse> responses = new CopyOnWriteArrayList<>();
    try (GlobalController controller =
            GlobalController.start(
                ControllerConfig.of(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0)));
        ClusterAgent agent =
            ClusterAgent.start(
                east,
                List.of("127.0.0.1:" + controller.xdsAddress().getPort()),
                executor -> new ManualSource(source))) {
      announce(source, Map.of(ECHO, List.of("10.0.0.1"), OTHER, List.of("10.0.1.1")));
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsAddress().getPort())
              .usePlaintext()
              .build();
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

      announce(source, Map.of(ECHO, List.of("10.0.0.2"), OTHER, List.of("10.0.1.1")));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> endpointOf(state(responses).get(ECHO_EDS)).equals("10.0.0.2"));
      DeltaDiscoveryResponse update = responses.get(responses.size() - 1);
      assertThat(update.getResourcesList()).extracting(Resource::getName).containsExactly(ECHO_EDS);

      announce(source, Map.of(ECHO, List.of("10.0.0.2")));
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

  private static void announce(
      AtomicReference<EndpointSource.Listener> source, Map<ServiceKey, List<String>> addresses) {
    await().atMost(Duration.ofSeconds(5)).until(() -> source.get() != null);
    Map<ServiceKey, ServiceEndpoints> services = new HashMap<>();
    addresses.forEach(
        (key, list) ->
            services.put(
                key,
                new ServiceEndpoints(
                    EAST,
                    key,
                    List.of(GRPC_7070),
                    false,
                    list.stream()
                        .map(a -> Endpoint.of(a, Map.of("grpc", 8080), EAST_A))
                        .toList())));
    source.get().onServices(services);
  }

  private record ManualSource(AtomicReference<Listener> listener) implements EndpointSource {
    @Override
    public void start(Listener listener) {
      this.listener.set(listener);
    }

    @Override
    public void close() {}
  }
}
