package dev.fedmesh.controller.xds;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static org.assertj.core.api.Assertions.assertThat;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A proxy that rejects a config: the rejection is recorded with its reason and not resent. */
class NackIT {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @Test
  void aRejectedVersionIsRecordedAndNotResentUntilTheConfigChanges() throws Exception {
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
                controller.xdsAddress().getPort(), "proxy-nack", "east", "us-east", "us-east-a")) {
      proxy.rejectWhen(response -> AdsTestClient.endpoints(response).contains("10.0.0.66:8080"));
      proxy.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
      announce(source, "10.0.0.1");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> proxy.currentEndpoints().contains("10.0.0.1:8080"));
      await().atMost(Duration.ofSeconds(5)).until(() -> state(controller).equals("SYNCED"));

      announce(source, "10.0.0.1", "10.0.0.66");

      await("the rejection is recorded")
          .atMost(Duration.ofSeconds(20))
          .until(() -> state(controller).equals("NACKED"));
      ProxyStatus.TypeStatus status =
          controller.xds().proxies().get("proxy-nack").types().get(AdsTestClient.EDS);
      assertThat(status.nackError()).startsWith("test rejects version ");
      assertThat(status.ackedVersion()).isNotEqualTo(status.nackedVersion());
      int responses = proxy.responses(AdsTestClient.EDS).size();
      await("the rejected version is not sent again")
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(3))
          .until(() -> proxy.responses(AdsTestClient.EDS).size() == responses);

      announce(source, "10.0.0.1", "10.0.0.2");

      await("a changed config is sent and accepted")
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  proxy.currentEndpoints().contains("10.0.0.2:8080")
                      && state(controller).equals("SYNCED"));
    }
  }

  private static String state(GlobalController controller) {
    ProxyStatus status = controller.xds().proxies().get("proxy-nack");
    if (status == null || !status.types().containsKey(AdsTestClient.EDS)) {
      return "NOT SENT";
    }
    return status.types().get(AdsTestClient.EDS).state();
  }

  private static void announce(
      AtomicReference<EndpointSource.Listener> source, String... addresses) {
    await().atMost(Duration.ofSeconds(5)).until(() -> source.get() != null);
    List<Endpoint> endpoints =
        java.util.Arrays.stream(addresses)
            .map(address -> Endpoint.of(address, Map.of("grpc", 8080), EAST_A))
            .toList();
    Map<ServiceKey, ServiceEndpoints> services =
        Map.of(ECHO, new ServiceEndpoints(EAST, ECHO, List.of(GRPC_7070), false, endpoints));
    source.get().onServices(services);
  }

  /** An endpoint source the test drives by hand. */
  private record ManualSource(AtomicReference<Listener> listener) implements EndpointSource {
    @Override
    public void start(Listener listener) {
      this.listener.set(listener);
    }

    @Override
    public void close() {}
  }
}
