package dev.fedmesh.agent.kubernetes;

import static dev.fedmesh.agent.kubernetes.ClusterObjects.endpoint;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.node;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.pod;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.port;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.ready;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.service;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.serviceExport;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.slice;
import static dev.fedmesh.agent.kubernetes.ClusterObjects.slicePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class KubernetesEndpointSourceTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality CLUSTER_LOCALITY = Locality.of("us-east", "us-east-a");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality EAST_B = Locality.of("us-east", "us-east-b");
  private static final ServiceKey ECHO = ServiceKey.of("default", "echo");
  private static final KubernetesEndpointSource.Settings SETTINGS =
      new KubernetesEndpointSource.Settings(
          Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofMillis(50));
  private static final ServicePort GRPC = new ServicePort("grpc", 7070, Protocol.GRPC);

  KubernetesMockServer server;
  KubernetesClient client;

  private ScheduledExecutorService executor;
  private KubernetesEvents events;
  private KubernetesEndpointSource source;
  private final List<Map<ServiceKey, ServiceEndpoints>> states = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    executor = Executors.newSingleThreadScheduledExecutor();
    events = new KubernetesEvents(client, "east", Clock.systemUTC());
    source =
        new KubernetesEndpointSource(
            client, EAST, CLUSTER_LOCALITY, executor, System::nanoTime, SETTINGS, events);
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    source.close();
    events.close();
    executor.shutdown();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void existingServiceIsAnnouncedWithLocalityIdentityAndProtocol() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod echo0 = create(pod("echo-0", "echo-sa", "node-a", "10.0.0.1"));
    client
        .services()
        .resource(service("echo", port("grpc", 7070, null), port("web", 8080, "http")))
        .create();
    create(
        slice(
            "echo-abc",
            "echo",
            List.of(slicePort("grpc", 50051), slicePort("web", 8081)),
            ready(echo0)));

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    assertThat(states).hasSize(1);
    assertThat(states.get(0))
        .isEqualTo(
            Map.of(
                ECHO,
                new ServiceEndpoints(
                    EAST,
                    ECHO,
                    List.of(GRPC, new ServicePort("web", 8080, Protocol.HTTP)),
                    false,
                    List.of(
                        new Endpoint(
                            "10.0.0.1",
                            Map.of("grpc", 50051, "web", 8081),
                            EAST_A,
                            EndpointHealth.HEALTHY,
                            Map.of("app", "echo", "version", "v1"),
                            "echo-sa",
                            1,
                            "echo-0")))));
    assertThat(source.findings()).isEmpty();
  }

  @Test
  void scalingUpAndDownChangesTheEndpoints() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod echo0 = create(pod("echo-0", "echo", "node-a", "10.0.0.1"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo0)));
    source.start(states::add);
    eventually().until(() -> addresses().equals(List.of("10.0.0.1")));

    Pod echo1 = create(pod("echo-1", "echo", "node-a", "10.0.0.2"));
    Pod echo2 = create(pod("echo-2", "echo", "node-a", "10.0.0.3"));
    create(
        slice(
            "echo-abc",
            "echo",
            List.of(slicePort("grpc", 7070)),
            ready(echo0),
            ready(echo1),
            ready(echo2)));

    eventually().until(() -> addresses().equals(List.of("10.0.0.1", "10.0.0.2", "10.0.0.3")));

    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo2)));

    eventually().until(() -> addresses().equals(List.of("10.0.0.3")));
  }

  @Test
  void terminatingEndpointsDrainAndTheRestAreUnhealthy() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod ready = create(pod("echo-0", "echo", "node-a", "10.0.0.1"));
    Pod draining = create(pod("echo-1", "echo", "node-a", "10.0.0.2"));
    Pod stopping = create(pod("echo-2", "echo", "node-a", "10.0.0.3"));
    Pod starting = create(pod("echo-3", "echo", "node-a", "10.0.0.4"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(
        slice(
            "echo-abc",
            "echo",
            List.of(slicePort("grpc", 7070)),
            endpoint(ready, true, true, false),
            endpoint(draining, false, true, true),
            endpoint(stopping, false, false, true),
            endpoint(starting, false, false, false)));

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).endpoints())
        .extracting(Endpoint::address, Endpoint::health)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.0.0.1", EndpointHealth.HEALTHY),
            org.assertj.core.groups.Tuple.tuple("10.0.0.2", EndpointHealth.DRAINING),
            org.assertj.core.groups.Tuple.tuple("10.0.0.3", EndpointHealth.UNHEALTHY),
            org.assertj.core.groups.Tuple.tuple("10.0.0.4", EndpointHealth.UNHEALTHY));
  }

  @Test
  void relabellingANodeMovesItsEndpointsToTheNewZone() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod echo0 = create(pod("echo-0", "echo", "node-a", "10.0.0.1"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo0)));
    source.start(states::add);
    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).endpoints().get(0).locality()).isEqualTo(EAST_A);

    client.nodes().resource(node("node-a", "us-east", "us-east-b")).update();

    eventually().until(() -> latest(ECHO).endpoints().get(0).locality().equals(EAST_B));
  }

  @Test
  void unnamedPortIsTcpAndReportedOnceInStatusLogAndEvent() {
    client.services().resource(service("legacy", port(null, 8080, null))).create();

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    ServiceKey legacy = ServiceKey.of("default", "legacy");
    assertThat(latest(legacy).ports())
        .containsExactly(new ServicePort("port-8080", 8080, Protocol.TCP));
    assertThat(source.findings())
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.kind()).isEqualTo(Finding.PORT_PROTOCOL_UNKNOWN);
              assertThat(finding.namespace()).isEqualTo("default");
              assertThat(finding.name()).isEqualTo("legacy");
              assertThat(finding.port()).isEqualTo(8080);
              assertThat(finding.message()).startsWith("port 8080 has no name and no appProtocol");
            });
    eventually().until(() -> warningsAbout("legacy").size() == 1);
    Event event = warningsAbout("legacy").get(0);
    assertThat(event.getReason()).isEqualTo(Finding.PORT_PROTOCOL_UNKNOWN);
    assertThat(event.getInvolvedObject().getKind()).isEqualTo("Service");
    assertThat(event.getMessage()).contains("treats it as plain TCP");

    client.services().resource(service("legacy", port("http", 8080, null))).update();

    eventually().until(() -> latest(legacy).ports().get(0).protocol() == Protocol.HTTP);
    assertThat(source.findings()).isEmpty();
    assertThat(warningsAbout("legacy")).as("no new event for a fixed port").hasSize(1);
  }

  @Test
  void serviceExportAddedThenRemovedExportsThenUnexports() {
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    source.start(states::add);
    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).exported()).isFalse();

    client
        .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
        .inNamespace("default")
        .resource(serviceExport("echo"))
        .create();

    eventually().until(() -> latest(ECHO).exported());

    client
        .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
        .inNamespace("default")
        .withName("echo")
        .delete();

    eventually().until(() -> !latest(ECHO).exported());
  }

  @Test
  void deletedServiceIsNoLongerAnnounced() {
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    client.services().resource(service("web", port("http", 8080, null))).create();
    source.start(states::add);
    eventually().until(() -> !states.isEmpty() && latestState().size() == 2);

    client.services().inNamespace("default").withName("web").delete();

    eventually().until(() -> latestState().keySet().equals(java.util.Set.of(ECHO)));
  }

  @Test
  void deletingASliceOrAPodTakesTheirEndpointsAway() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod echo0 = create(pod("echo-0", "echo", "node-a", "10.0.0.1"));
    Pod echo1 = create(pod("echo-1", "echo", "node-a", "10.0.0.2"));
    Pod echo2 = create(pod("echo-2", "echo", "node-a", "10.0.0.3"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo0), ready(echo1)));
    create(slice("echo-def", "echo", List.of(slicePort("grpc", 7070)), ready(echo2)));
    source.start(states::add);
    eventually().until(() -> addresses().equals(List.of("10.0.0.1", "10.0.0.2", "10.0.0.3")));

    client.discovery().v1().endpointSlices().inNamespace("default").withName("echo-def").delete();

    eventually().until(() -> addresses().equals(List.of("10.0.0.1", "10.0.0.2")));

    client.pods().inNamespace("default").withName("echo-1").delete();

    eventually().until(() -> addresses().equals(List.of("10.0.0.1")));
    assertThat(latestState()).containsOnlyKeys(ECHO);
  }

  @Test
  void endpointOnANodeWithoutTopologyTakesTheClustersLocality() {
    client.nodes().resource(node("node-b", "us-east", "us-east-b")).create();
    Pod echo0 = create(pod("echo-0", "echo", "node-b", "10.0.0.1"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo0)));
    source.start(states::add);
    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).endpoints().get(0).locality()).isEqualTo(EAST_B);

    client.nodes().withName("node-b").delete();

    eventually().until(() -> latest(ECHO).endpoints().get(0).locality().equals(CLUSTER_LOCALITY));
  }

  @Test
  void endpointWaitsForItsPodSoItsIdentityIsNeverGuessed() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    Pod unseen = pod("echo-0", "echo-sa", "node-a", "10.0.0.1");
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(unseen)));
    source.start(states::add);
    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).endpoints()).isEmpty();

    create(unseen);

    eventually().until(() -> addresses().equals(List.of("10.0.0.1")));
    assertThat(latest(ECHO).endpoints().get(0).serviceAccount()).isEqualTo("echo-sa");
  }

  @Test
  void slicesOfOneServiceAreMergedAndAnAddressInTwoCountsOnce() {
    client.nodes().resource(node("node-a", "us-east", "us-east-a")).create();
    client.nodes().resource(node("node-b", "us-east", "us-east-b")).create();
    Pod echo0 = create(pod("echo-0", "echo", "node-a", "10.0.0.1"));
    Pod echo1 = create(pod("echo-1", "echo", "node-b", "10.0.0.2"));
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    create(slice("echo-abc", "echo", List.of(slicePort("grpc", 7070)), ready(echo0)));
    create(
        slice(
            "echo-def",
            "echo",
            List.of(slicePort("grpc", 7070)),
            endpoint(echo0, false, true, true),
            ready(echo1)));

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).endpoints())
        .extracting(Endpoint::address, Endpoint::locality, Endpoint::health)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.0.0.1", EAST_A, EndpointHealth.HEALTHY),
            org.assertj.core.groups.Tuple.tuple("10.0.0.2", EAST_B, EndpointHealth.HEALTHY));
  }

  @Test
  void exportAnnotationOnTheServiceOrItsNamespaceExports() {
    client
        .namespaces()
        .resource(
            new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                .withNewMetadata()
                .withName("default")
                .withAnnotations(Map.of(ServiceTranslator.EXPORT_ANNOTATION, "true"))
                .endMetadata()
                .build())
        .create();
    client.services().resource(service("echo", port("grpc", 7070, null))).create();
    client
        .services()
        .resource(
            service(
                "private",
                Map.of(ServiceTranslator.EXPORT_ANNOTATION, "false"),
                port("grpc", 7070, null)))
        .create();

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).exported()).as("exported by its namespace").isTrue();
    assertThat(latest(ServiceKey.of("default", "private")).exported())
        .as("the service's own annotation wins")
        .isFalse();
  }

  @Test
  void clusterWithoutTheServiceExportApiStillAnnouncesItsServicesAndPicksItUpLater() {
    for (String query : List.of("limit=1", "resourceVersion=0")) {
      server
          .expect()
          .get()
          .withPath("/apis/multicluster.x-k8s.io/v1alpha1/serviceexports?" + query)
          .andReturn(404, new io.fabric8.kubernetes.api.model.StatusBuilder().withCode(404).build())
          .always();
    }
    client.services().resource(service("echo", port("grpc", 7070, null))).create();

    source.start(states::add);

    eventually().until(() -> !states.isEmpty());
    assertThat(latest(ECHO).exported()).isFalse();

    server.clearExpectations();
    client
        .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
        .inNamespace("default")
        .resource(serviceExport("echo"))
        .create();

    eventually().until(() -> latest(ECHO).exported());
  }

  private Pod create(Pod pod) {
    return client.pods().resource(pod).create();
  }

  private void create(EndpointSlice slice) {
    client
        .discovery()
        .v1()
        .endpointSlices()
        .resource(slice)
        .createOr(existing -> existing.update());
  }

  private List<Event> warningsAbout(String service) {
    return client.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> service.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  private Map<ServiceKey, ServiceEndpoints> latestState() {
    return states.get(states.size() - 1);
  }

  private ServiceEndpoints latest(ServiceKey key) {
    return latestState().get(key);
  }

  private List<String> addresses() {
    if (states.isEmpty()) {
      return List.of();
    }
    return latest(ECHO).endpoints().stream().map(Endpoint::address).toList();
  }

  private static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10));
  }
}
