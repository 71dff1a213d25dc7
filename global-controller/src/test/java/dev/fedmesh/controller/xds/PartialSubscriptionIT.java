package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static org.awaitility.Awaitility.await;

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
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A proxy that asks for endpoints of several services, some of which do not exist yet, is answered
 * once they all exist (java-control-plane alone would drop such a request).
 */
class PartialSubscriptionIT {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final ServiceKey LATER = ServiceKey.of("default", "later");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void aRequestForSomeMissingNamesIsAnsweredWhenTheyAppear() throws Exception {
    AtomicReference<EndpointSource.Listener> source = new AtomicReference<>();
    ClusterInfo east = new ClusterInfo(EAST, "east", EAST_A, List.of(), "fedmesh.local", "test");
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
                executor -> new ManualSource(source));
        AdsTestClient proxy =
            new AdsTestClient(
                controller.xdsAddress().getPort(), "partial", "east", "us-east", "us-east-a")) {
      announce(source, Map.of(ECHO, "10.0.0.1"));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> controller.mesh().services().containsKey(ECHO));

      proxy.subscribe(
          AdsTestClient.EDS,
          List.of(
              "outbound|7070||echo.default.svc.cluster.local",
              "outbound|7070||later.default.svc.cluster.local"));
      announce(source, Map.of(ECHO, "10.0.0.1", LATER, "10.0.0.2"));

      await("both services' endpoints arrive")
          .atMost(Duration.ofSeconds(20))
          .until(() -> proxy.currentEndpoints().equals(Set.of("10.0.0.1:8080", "10.0.0.2:8080")));
    }
  }

  private static void announce(
      AtomicReference<EndpointSource.Listener> source, Map<ServiceKey, String> addresses) {
    await().atMost(Duration.ofSeconds(5)).until(() -> source.get() != null);
    Map<ServiceKey, ServiceEndpoints> services = new HashMap<>();
    addresses.forEach(
        (key, address) ->
            services.put(
                key,
                new ServiceEndpoints(
                    EAST,
                    key,
                    List.of(GRPC_7070),
                    false,
                    List.of(Endpoint.of(address, Map.of("grpc", 8080), EAST_A)))));
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
