package dev.fedmesh.controller;

import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * A controller on loopback with one real agent (cluster {@code east}, us-east/us-east-a) whose
 * services the test announces by hand: the usual set-up of controller ITs.
 */
public final class ControllerWithAgent implements AutoCloseable {
  public static final ClusterName EAST = ClusterName.of("east");
  public static final Locality EAST_A = Locality.of("us-east", "us-east-a");

  private final GlobalController controller;
  private final ClusterAgent agent;
  private final AtomicReference<EndpointSource.Listener> source = new AtomicReference<>();

  private ControllerWithAgent(ControllerConfig config) {
    controller = GlobalController.start(config);
    ClusterInfo east = new ClusterInfo(EAST, "east", EAST_A, List.of(), "fedmesh.local", "test");
    agent =
        ClusterAgent.start(
            east,
            List.of("127.0.0.1:" + controller.xdsAddress().getPort()),
            executor -> new ManualSource(source));
  }

  public static ControllerWithAgent start(String etcdEndpoints) {
    return start(etcdEndpoints, UnaryOperator.identity());
  }

  /** Like {@link #start(String)}, with the controller's defaults changed by {@code config}. */
  public static ControllerWithAgent start(
      String etcdEndpoints, UnaryOperator<ControllerConfig.Builder> config) {
    return new ControllerWithAgent(
        config
            .apply(
                ControllerConfig.builder(
                    List.of(etcdEndpoints),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0)))
            .build());
  }

  public ClusterAgent agent() {
    return agent;
  }

  public GlobalController controller() {
    return controller;
  }

  public int xdsPort() {
    return controller.xdsAddress().getPort();
  }

  /**
   * Announces the cluster's complete state: each service (port grpc 7070) with one endpoint per
   * address, listening on 8080.
   */
  public void announce(Map<ServiceKey, List<String>> addresses) {
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

  /** Announces the cluster's complete state as given. */
  public void announce(java.util.Collection<ServiceEndpoints> shards) {
    await().atMost(Duration.ofSeconds(5)).until(() -> source.get() != null);
    Map<ServiceKey, ServiceEndpoints> services = new HashMap<>();
    shards.forEach(shard -> services.put(shard.service(), shard));
    source.get().onServices(services);
  }

  @Override
  public void close() {
    agent.close();
    controller.close();
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
