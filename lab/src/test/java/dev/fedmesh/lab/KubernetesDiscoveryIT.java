package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.kubernetes.KubernetesEndpointSource;
import dev.fedmesh.agent.kubernetes.KubernetesEvents;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.FederationCodec;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's real Kubernetes path end to end: objects in a Kubernetes API (fabric8's mock, CRUD
 * mode), the agent's informers, the federation stream, a controller on real etcd, and the EDS it
 * serves. Restarting the agent must neither lose nor duplicate an endpoint.
 */
class KubernetesDiscoveryIT {
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";
  private static final String WEB_EDS = "outbound|8080||web.default.svc.cluster.local";

  private static final ClusterInfo EAST =
      new ClusterInfo(
          ClusterName.of("east"),
          "east",
          Locality.of("us-east", "us-east-a"),
          List.of(),
          "fedmesh.local",
          "test");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @TempDir Path temp;

  private GlobalController controller;
  private KubernetesApiProcess api;
  private KubernetesClient kube;
  private KubernetesEvents events;
  private ClusterAgent agent;
  private AdsTestClient ads;
  private AdsTestClient witness;
  private StoredShards stored;

  @AfterEach
  void stopEverything() throws InterruptedException {
    if (ads != null) {
      ads.close();
    }
    if (witness != null) {
      witness.close();
    }
    if (stored != null) {
      stored.close();
    }
    if (agent != null) {
      agent.close();
    }
    if (events != null) {
      events.close();
    }
    if (kube != null) {
      kube.close();
    }
    if (api != null) {
      api.close();
    }
    if (controller != null) {
      controller.close();
    }
  }

  @Test
  void endpointSliceChangesReachEdsAndAnAgentRestartLosesAndDuplicatesNothing() {
    controller =
        GlobalController.start(
            ControllerConfig.of(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .withReplicaId("replica-a"));
    api = KubernetesApiProcess.start(temp);
    kube = api.client();
    events = new KubernetesEvents(kube, "east", Clock.systemUTC());
    kube.nodes().resource(node("node-a", "us-east-a")).create();
    kube.nodes().resource(node("node-b", "us-east-b")).create();
    Pod echo0 = kube.pods().resource(pod("echo-0", "node-a", "10.1.0.1")).create();
    Pod echo1 = kube.pods().resource(pod("echo-1", "node-b", "10.1.0.2")).create();
    kube.services().resource(service("echo", "grpc", 7070)).create();
    kube.discovery().v1().endpointSlices().resource(slice("echo", "grpc", 50051, echo0)).create();

    agent = startAgent();
    ads =
        new AdsTestClient(
            controller.xdsAddress().getPort(), "client", "east", "us-east", "us-east-a");
    ads.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));

    eventually("the first endpoint is served")
        .until(() -> endpointsOf(ECHO_EDS, latest()).equals(List.of("10.1.0.1:50051")));

    kube.discovery()
        .v1()
        .endpointSlices()
        .resource(slice("echo", "grpc", 50051, echo0, echo1))
        .update();

    eventually("the slice's new endpoint is served")
        .until(
            () ->
                endpointsOf(ECHO_EDS, latest())
                    .equals(List.of("10.1.0.1:50051", "10.1.0.2:50051")));
    eventually("the agent's state is stored").until(() -> agent.federation().isInSync());
    ClusterLoadAssignment beforeRestart = assignment(ECHO_EDS, latest()).orElseThrow();
    int responsesBeforeRestart = ads.responses(AdsTestClient.EDS).size();
    stored = StoredShards.watch(etcd.endpoints(), EAST.name());

    agent.close();
    agent = startAgent();
    eventually("the restarted agent's state is stored").until(() -> agent.federation().isInSync());
    // A change after the restart: once another proxy of the same group is served it, whatever
    // the restart caused has been pushed to the client too (one snapshot per group, in order).
    Pod web0 = kube.pods().resource(pod("web-0", "node-a", "10.1.1.1")).create();
    kube.services().resource(service("web", "http", 8080)).create();
    kube.discovery().v1().endpointSlices().resource(slice("web", "http", 8080, web0)).create();
    witness =
        new AdsTestClient(
            controller.xdsAddress().getPort(), "witness", "east", "us-east", "us-east-a");
    witness.subscribe(AdsTestClient.EDS, List.of(WEB_EDS));
    eventually("a service created after the restart is served")
        .until(() -> witness.currentEndpoints().equals(java.util.Set.of("10.1.1.1:8080")));
    eventually("the client has acknowledged all it was sent")
        .until(
            () ->
                controller
                    .xds()
                    .proxies()
                    .get("client")
                    .types()
                    .get(AdsTestClient.EDS)
                    .state()
                    .equals("SYNCED"));

    List<DiscoveryResponse> sinceRestart =
        ads.responses(AdsTestClient.EDS)
            .subList(responsesBeforeRestart, ads.responses(AdsTestClient.EDS).size());
    assertThat(sinceRestart)
        .as("every EDS response from the restart on still holds both endpoints, once each")
        .allSatisfy(
            response ->
                assertThat(endpointsOf(ECHO_EDS, response))
                    .containsExactly("10.1.0.1:50051", "10.1.0.2:50051"));
    assertThat(assignment(ECHO_EDS, latest()))
        .as("after the restart the assignment is identical")
        .contains(beforeRestart);
    ServiceKey echo = ServiceKey.of("default", "echo");
    eventually("etcd's history reaches the service created after the restart")
        .until(() -> stored.changes().stream().anyMatch(c -> c.service().name().equals("web")));
    ServiceEndpoints shardBeforeRestart = stored.before(echo);
    assertThat(shardBeforeRestart.endpoints()).hasSize(2);
    assertThat(stored.changes())
        .as("the truth in etcd: the echo shard is re-put as it was, never withdrawn or changed")
        .filteredOn(change -> change.service().equals(echo))
        .allSatisfy(change -> assertThat(change.shard()).contains(shardBeforeRestart));
  }

  /**
   * A cluster's shards in etcd: their values at one revision, then every change after it, read from
   * etcd's own history (a watch from that revision), so no change can slip between two polls.
   */
  private static final class StoredShards implements AutoCloseable {
    record Change(ServiceKey service, Optional<ServiceEndpoints> shard) {}

    private final Client client;
    private final ClusterName cluster;
    private final Map<ServiceKey, ServiceEndpoints> before = new java.util.HashMap<>();
    private final List<Change> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Watch.Watcher watcher;

    private StoredShards(Client client, ClusterName cluster) {
      this.client = client;
      this.cluster = cluster;
    }

    static StoredShards watch(String endpoints, ClusterName cluster) {
      StoredShards shards =
          new StoredShards(Client.builder().endpoints(endpoints.split(",")).build(), cluster);
      ByteSequence prefix = bytes("/fedmesh/v1/endpoints/" + cluster.value() + "/");
      GetResponse now =
          shards
              .client
              .getKVClient()
              .get(prefix, GetOption.builder().isPrefix(true).build())
              .join();
      for (KeyValue kv : now.getKvs()) {
        ServiceEndpoints shard = shards.decode(kv.getValue());
        shards.before.put(shard.service(), shard);
      }
      shards.watcher =
          shards
              .client
              .getWatchClient()
              .watch(
                  prefix,
                  WatchOption.builder()
                      .isPrefix(true)
                      .withRevision(now.getHeader().getRevision() + 1)
                      .build(),
                  response -> response.getEvents().forEach(shards::record));
      return shards;
    }

    private void record(WatchEvent event) {
      String key = event.getKeyValue().getKey().toString(StandardCharsets.UTF_8);
      String[] parts = key.split("/");
      ServiceKey service = ServiceKey.of(parts[parts.length - 2], parts[parts.length - 1]);
      changes.add(
          new Change(
              service,
              event.getEventType() == WatchEvent.EventType.PUT
                  ? Optional.of(decode(event.getKeyValue().getValue()))
                  : Optional.empty()));
    }

    private ServiceEndpoints decode(ByteSequence value) {
      try {
        ServiceState.Builder state = ServiceState.newBuilder();
        JsonFormat.parser()
            .ignoringUnknownFields()
            .merge(value.toString(StandardCharsets.UTF_8), state);
        return FederationCodec.serviceEndpoints(cluster, state.build());
      } catch (InvalidProtocolBufferException | InvalidMessageException e) {
        throw new IllegalStateException("unreadable shard in etcd", e);
      }
    }

    ServiceEndpoints before(ServiceKey service) {
      return before.get(service);
    }

    List<Change> changes() {
      return List.copyOf(changes);
    }

    private static ByteSequence bytes(String text) {
      return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
      if (watcher != null) {
        watcher.close();
      }
      client.close();
    }
  }

  private ClusterAgent startAgent() {
    return ClusterAgent.builder(EAST, List.of("127.0.0.1:" + controller.xdsAddress().getPort()))
        .source(
            executor ->
                new KubernetesEndpointSource(
                    kube,
                    EAST.name(),
                    EAST.locality(),
                    executor,
                    System::nanoTime,
                    new KubernetesEndpointSource.Settings(
                        Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(60)),
                    events))
        .start();
  }

  private DiscoveryResponse latest() {
    List<DiscoveryResponse> responses = ads.responses(AdsTestClient.EDS);
    return responses.isEmpty()
        ? DiscoveryResponse.getDefaultInstance()
        : responses.get(responses.size() - 1);
  }

  private static Optional<ClusterLoadAssignment> assignment(
      String name, DiscoveryResponse response) {
    for (Any any : response.getResourcesList()) {
      try {
        ClusterLoadAssignment assignment = any.unpack(ClusterLoadAssignment.class);
        if (assignment.getClusterName().equals(name)) {
          return Optional.of(assignment);
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException(e);
      }
    }
    return Optional.empty();
  }

  /** Every endpoint of one assignment, duplicates kept, in address order. */
  private static List<String> endpointsOf(String name, DiscoveryResponse response) {
    List<String> endpoints = new ArrayList<>();
    assignment(name, response)
        .ifPresent(
            assignment ->
                assignment
                    .getEndpointsList()
                    .forEach(
                        locality ->
                            locality
                                .getLbEndpointsList()
                                .forEach(
                                    lb -> {
                                      var socket = lb.getEndpoint().getAddress().getSocketAddress();
                                      endpoints.add(
                                          socket.getAddress() + ":" + socket.getPortValue());
                                    })));
    endpoints.sort(null);
    return endpoints;
  }

  private static org.awaitility.core.ConditionFactory eventually(String what) {
    return await(what).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20));
  }

  private static io.fabric8.kubernetes.api.model.Node node(String name, String zone) {
    return new NodeBuilder()
        .withNewMetadata()
        .withName(name)
        .withLabels(
            Map.of("topology.kubernetes.io/region", "us-east", "topology.kubernetes.io/zone", zone))
        .endMetadata()
        .build();
  }

  private static Pod pod(String name, String node, String ip) {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .withLabels(Map.of("app", name.substring(0, name.indexOf('-'))))
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(name.substring(0, name.indexOf('-')))
        .withNodeName(node)
        .addNewContainer()
        .withName("app")
        .withImage("example/app:1")
        .endContainer()
        .endSpec()
        .withNewStatus()
        .withPodIP(ip)
        .endStatus()
        .build();
  }

  private static io.fabric8.kubernetes.api.model.Service service(
      String name, String portName, int port) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withSelector(Map.of("app", name))
        .addNewPort()
        .withName(portName)
        .withPort(port)
        .withProtocol("TCP")
        .endPort()
        .endSpec()
        .build();
  }

  private static EndpointSlice slice(String service, String portName, int port, Pod... pods) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (Pod pod : pods) {
      endpoints.add(
          new EndpointBuilder()
              .withAddresses(pod.getStatus().getPodIP())
              .withNodeName(pod.getSpec().getNodeName())
              .withNewTargetRef()
              .withKind("Pod")
              .withNamespace("default")
              .withName(pod.getMetadata().getName())
              .endTargetRef()
              .withNewConditions()
              .withReady(true)
              .withServing(true)
              .withTerminating(false)
              .endConditions()
              .build());
    }
    return new EndpointSliceBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(service + "-abc12")
        .withLabels(Map.of("kubernetes.io/service-name", service))
        .endMetadata()
        .withAddressType("IPv4")
        .addNewPort()
        .withName(portName)
        .withPort(port)
        .withProtocol("TCP")
        .endPort()
        .withEndpoints(endpoints)
        .build();
  }
}
