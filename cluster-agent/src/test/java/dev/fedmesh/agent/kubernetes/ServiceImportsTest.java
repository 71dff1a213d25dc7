package dev.fedmesh.agent.kubernetes;

import static dev.fedmesh.agent.kubernetes.ClusterObjects.namespace;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.federation.ImportedService;
import dev.fedmesh.agent.federation.ImportsCodec;
import dev.fedmesh.agent.federation.ServiceImportSet;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cluster's ServiceImports follow the controller's import sets, against fabric8's mock API
 * server in CRUD mode: with the MCS CRD registered (its status subresource keeps status apart, as a
 * real API server does) and without it (status is part of the object).
 */
@EnableKubernetesMockClient(crud = true)
class ServiceImportsTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final ServicePort HTTP = new ServicePort("http", 8080, Protocol.HTTP);
  private static final ServicePort GRPC = new ServicePort("grpc", 7070, Protocol.GRPC);
  private static final ServicePort H2C = new ServicePort("http2-api", 9090, Protocol.HTTP2);
  private static final ServicePort TLS = new ServicePort("https", 8443, Protocol.TLS);
  private static final ServicePort DB = new ServicePort("tcp-db", 5432, Protocol.TCP);
  private static final Duration SHORT_RESYNC = Duration.ofMillis(200);
  private static final Duration NO_RESYNC = Duration.ofHours(1);

  KubernetesMockServer server;
  KubernetesClient client;

  private ScheduledExecutorService executor;
  private ServiceImports imports;

  @BeforeEach
  void setUp() {
    executor = Executors.newSingleThreadScheduledExecutor();
    for (String name : List.of("default", "shop")) {
      client.namespaces().resource(namespace(name, Map.of())).create();
    }
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (imports != null) {
      imports.close();
    }
    executor.shutdown();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @ParameterizedTest(name = "status subresource: {0}")
  @ValueSource(booleans = {true, false})
  void importedServicesGetServiceImportsOfTheirNamespaceAndName(boolean statusSubresource) {
    registerCrd(statusSubresource);
    start(NO_RESYNC);

    imports.onImports(
        set(
            imported(
                "shop",
                "echo",
                List.of("10.96.0.20"),
                List.of("central", "west"),
                HTTP,
                GRPC,
                H2C,
                TLS),
            imported("default", "db", List.of(), List.of("west"), DB)));

    eventually().until(() -> hasStatus("shop", "echo") && hasStatus("default", "db"));
    GenericKubernetesResource echo = serviceImport("shop", "echo");
    assertThat(echo.getApiVersion()).isEqualTo("multicluster.x-k8s.io/v1alpha1");
    assertThat(echo.getKind()).isEqualTo("ServiceImport");
    assertThat(echo.getMetadata().getLabels())
        .containsEntry(ServiceImports.MANAGED_BY_LABEL, ServiceImports.MANAGED_BY);
    assertThat(echo.getAdditionalProperties().get("spec"))
        .isEqualTo(
            Map.of(
                "type",
                "ClusterSetIP",
                "ips",
                List.of("10.96.0.20"),
                "ports",
                List.of(
                    port("http", 8080, "http"),
                    port("grpc", 7070, "grpc"),
                    port("http2-api", 9090, "kubernetes.io/h2c"),
                    port("https", 8443, "tls"))));
    assertThat(echo.getAdditionalProperties().get("status"))
        .isEqualTo(
            Map.of("clusters", List.of(Map.of("cluster", "central"), Map.of("cluster", "west"))));
    GenericKubernetesResource db = serviceImport("default", "db");
    assertThat(db.getAdditionalProperties().get("spec"))
        .as("no ips while the mesh has none for it; plain TCP has no appProtocol")
        .isEqualTo(Map.of("type", "ClusterSetIP", "ports", List.of(port("tcp-db", 5432, null))));
    assertThat(imports.findings()).isEmpty();
  }

  @ParameterizedTest(name = "status subresource: {0}")
  @ValueSource(booleans = {true, false})
  void changedIpsPortsAndClustersAreWritten(boolean statusSubresource) {
    registerCrd(statusSubresource);
    start(NO_RESYNC);
    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));
    eventually().until(() -> hasStatus("shop", "echo"));

    imports.onImports(
        set(
            imported(
                "shop",
                "echo",
                List.of("240.240.0.7"),
                List.of("central", "west"),
                GRPC,
                new ServicePort("http", 8081, Protocol.HTTP))));

    eventually()
        .until(
            () ->
                spec("shop", "echo")
                        .equals(
                            Map.of(
                                "type",
                                "ClusterSetIP",
                                "ips",
                                List.of("240.240.0.7"),
                                "ports",
                                List.of(port("grpc", 7070, "grpc"), port("http", 8081, "http"))))
                    && clusters("shop", "echo").equals(List.of("central", "west")));
  }

  @Test
  void servicesNoLongerImportedLoseTheirServiceImportsAndOnlyThose() {
    client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .resource(usersOwn("shop", "legacy"))
        .create();
    start(NO_RESYNC);
    imports.onImports(
        set(
            imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP),
            imported("shop", "web", List.of("10.96.0.21"), List.of("west"), HTTP)));
    eventually().until(() -> hasStatus("shop", "echo") && hasStatus("shop", "web"));

    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));

    eventually().until(() -> serviceImport("shop", "web") == null);
    assertThat(serviceImport("shop", "echo")).isNotNull();

    imports.onImports(set());

    eventually().until(() -> serviceImport("shop", "echo") == null);
    assertThat(serviceImport("shop", "legacy")).as("not ours: never deleted").isNotNull();
  }

  @Test
  void aServiceImportFedmeshDidNotMakeIsLeftByteForByteAndReported() {
    GenericKubernetesResource theirs =
        client
            .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
            .resource(usersOwn("shop", "echo"))
            .create();
    String before = json(theirs);
    start(SHORT_RESYNC);

    imports.onImports(
        set(
            imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP),
            imported("shop", "web", List.of("10.96.0.21"), List.of("west"), HTTP)));

    eventually()
        .until(
            () ->
                hasStatus("shop", "web")
                    && imports.findings().stream()
                        .anyMatch(f -> f.kind().equals(Finding.SERVICE_IMPORT_NOT_OWNED)));
    assertThat(imports.findings())
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.namespace()).isEqualTo("shop");
              assertThat(finding.name()).isEqualTo("echo");
              assertThat(finding.message())
                  .contains("ServiceImport shop/echo exists and fedmesh did not make it")
                  .contains("app.kubernetes.io/managed-by=fedmesh");
            });
    // Several resyncs later, and after the service is no longer imported: the same bytes.
    await()
        .during(SHORT_RESYNC.multipliedBy(3))
        .atMost(Duration.ofSeconds(10))
        .until(() -> json(serviceImport("shop", "echo")).equals(before));
    imports.onImports(set(imported("shop", "web", List.of("10.96.0.21"), List.of("west"), HTTP)));
    eventually().until(() -> imports.findings().isEmpty());
    assertThat(json(serviceImport("shop", "echo"))).isEqualTo(before);
  }

  @Test
  void aDeletedServiceImportOfOursIsRecreated() {
    start(NO_RESYNC);
    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));
    eventually().until(() -> hasStatus("shop", "echo") && imports.isWatching());

    client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .inNamespace("shop")
        .withName("echo")
        .delete();

    // No resync in this test: the watch saw the deletion.
    eventually().until(() -> hasStatus("shop", "echo"));
    assertThat(spec("shop", "echo").get("ips")).isEqualTo(List.of("10.96.0.20"));
  }

  @Test
  void anEditOfOurFieldsIsUndoneAndTheRestOfTheEditKept() {
    start(NO_RESYNC);
    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));
    eventually().until(() -> hasStatus("shop", "echo") && imports.isWatching());
    Map<String, Object> ours = spec("shop", "echo");

    client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .inNamespace("shop")
        .withName("echo")
        .edit(
            object -> {
              Map<String, Object> spec = new LinkedHashMap<>(ours);
              spec.put("ips", List.of("10.0.0.99"));
              spec.put("ports", List.of(port("web", 80, null)));
              spec.put("sessionAffinity", "ClientIP");
              object.setAdditionalProperty("spec", spec);
              object.getMetadata().setAnnotations(Map.of("team", "shop"));
              return object;
            });

    eventually().until(() -> spec("shop", "echo").get("ips").equals(List.of("10.96.0.20")));
    Map<String, Object> spec = spec("shop", "echo");
    assertThat(spec.get("ports")).isEqualTo(ours.get("ports"));
    assertThat(spec.get("sessionAffinity")).as("not a field fedmesh keeps").isEqualTo("ClientIP");
    assertThat(serviceImport("shop", "echo").getMetadata().getAnnotations())
        .containsEntry("team", "shop");
  }

  @Test
  void anInvalidEntryIsSkippedWithAFindingAndTheOthersApplied() {
    start(NO_RESYNC);
    imports.onImports(set(imported("shop", "web", List.of("10.96.0.21"), List.of("west"), HTTP)));
    eventually().until(() -> hasStatus("shop", "web"));

    imports.onImports(
        ImportsCodec.decode(
            dev.fedmesh.federation.v1.ServiceImports.newBuilder()
                .addServices(proto("shop", "echo", "10.96.0.20", 8080))
                .addServices(proto("shop", "web", "10.96.0.300", 8080))
                .addServices(proto("shop", "db", "10.96.0.22", 0))
                .build()));

    eventually().until(() -> hasStatus("shop", "echo"));
    assertThat(serviceImport("shop", "db")).isNull();
    assertThat(spec("shop", "web").get("ips"))
        .as("an invalid entry leaves what the cluster holds for it")
        .isEqualTo(List.of("10.96.0.21"));
    assertThat(imports.findings())
        .extracting(Finding::kind, Finding::name)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple(Finding.IMPORT_INVALID, "web"),
            org.assertj.core.groups.Tuple.tuple(Finding.IMPORT_INVALID, "db"));
    assertThat(imports.findings())
        .extracting(Finding::message)
        .anyMatch(m -> m.contains("imports.services[1].ips[0]: '10.96.0.300'"))
        .anyMatch(m -> m.contains("imports.services[2].ports[0].port: 0 (expected: 1..65535)"));
  }

  @Test
  void anImportIntoAMissingNamespaceWaitsForItWithAFinding() {
    start(SHORT_RESYNC);

    imports.onImports(
        set(
            imported("ghost", "echo", List.of("10.96.0.20"), List.of("west"), HTTP),
            imported("shop", "web", List.of("10.96.0.21"), List.of("west"), HTTP)));

    eventually().until(() -> hasStatus("shop", "web") && !imports.findings().isEmpty());
    assertThat(serviceImport("ghost", "echo")).isNull();
    assertThat(imports.findings())
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.kind()).isEqualTo(Finding.IMPORT_NAMESPACE_MISSING);
              assertThat(finding.namespace()).isEqualTo("ghost");
              assertThat(finding.message()).contains("namespace 'ghost' does not exist");
            });

    client.namespaces().resource(namespace("ghost", Map.of())).create();

    eventually().until(() -> hasStatus("ghost", "echo") && imports.findings().isEmpty());
  }

  @Test
  void nothingIsTouchedBeforeTheFirstImportSetAndAnEmptySetImportsNothing() {
    GenericKubernetesResource fromAnEarlierRun =
        ServiceImportObjects.of(
            imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP));
    client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .resource(fromAnEarlierRun)
        .create();
    start(SHORT_RESYNC);

    await()
        .during(SHORT_RESYNC.multipliedBy(3))
        .atMost(Duration.ofSeconds(10))
        .until(() -> serviceImport("shop", "echo") != null);

    imports.onImports(set());

    eventually().until(() -> serviceImport("shop", "echo") == null);
  }

  @Test
  void aBurstOfImportSetsIsOnePassWithTheLatest() throws InterruptedException {
    imports =
        new ServiceImports(
            client,
            EAST,
            executor,
            System::nanoTime,
            new SplittableRandom(7),
            new ServiceImports.Settings(
                Duration.ofMillis(300),
                Duration.ofSeconds(5),
                NO_RESYNC,
                Duration.ofMillis(10),
                Duration.ofMillis(100)));

    for (int i = 0; i < 20; i++) {
      imports.onImports(
          set(imported("shop", "svc-" + i, List.of("10.96.0.20"), List.of("west"), HTTP)));
    }
    imports.onImports(set(imported("shop", "final", List.of("10.96.0.20"), List.of("west"), HTTP)));

    eventually().until(() -> hasStatus("shop", "final"));
    int creates = 0;
    for (RecordedRequest request = server.takeRequest(0, TimeUnit.SECONDS);
        request != null;
        request = server.takeRequest(0, TimeUnit.SECONDS)) {
      if (request.getMethod().equals("POST") && request.getPath().contains("/serviceimports")) {
        creates++;
      }
    }
    assertThat(creates).as("ServiceImports created").isEqualTo(1);
    assertThat(
            client
                .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
                .inAnyNamespace()
                .list()
                .getItems())
        .extracting(object -> object.getMetadata().getName())
        .containsExactly("final");
  }

  @Test
  void failedWritesAreReportedAndRetriedUntilTheyGoThrough() {
    // Refused as a cluster without the agent's RBAC would (fabric8 itself retries 5xx answers
    // before giving up, so a 403 is what reaches the agent at once).
    server
        .expect()
        .post()
        .withPath("/apis/multicluster.x-k8s.io/v1alpha1/namespaces/shop/serviceimports")
        .andReturn(
            403,
            new StatusBuilder()
                .withCode(403)
                .withReason("Forbidden")
                .withMessage("serviceimports.multicluster.x-k8s.io is forbidden")
                .build())
        .always();
    start(NO_RESYNC);

    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));

    eventually()
        .until(
            () ->
                imports.findings().stream()
                    .anyMatch(
                        f ->
                            f.kind().equals(Finding.SERVICE_IMPORT_NOT_WRITTEN)
                                && f.name().equals("echo")
                                && f.message().contains("serviceimports/status")
                                && f.message().endsWith("(retrying)")));
    int attempts = server.getRequestCount();
    eventually().until(() -> server.getRequestCount() > attempts + 2);

    server.clearExpectations();

    eventually().until(() -> hasStatus("shop", "echo") && imports.findings().isEmpty());
  }

  @Test
  void withoutTheServiceImportApiTheFindingSaysSoAndImportsFollowOnceItIsServed() {
    for (String query : List.of("", "?resourceVersion=0")) {
      server
          .expect()
          .get()
          .withPath("/apis/multicluster.x-k8s.io/v1alpha1/serviceimports" + query)
          .andReturn(404, new StatusBuilder().withCode(404).withReason("NotFound").build())
          .always();
    }
    start(NO_RESYNC);

    imports.onImports(set(imported("shop", "echo", List.of("10.96.0.20"), List.of("west"), HTTP)));

    eventually()
        .until(
            () ->
                imports.findings().stream()
                    .anyMatch(
                        f ->
                            f.kind().equals(Finding.SERVICE_IMPORT_NOT_WRITTEN)
                                && f.message()
                                    .startsWith(
                                        "the ServiceImport API (multicluster.x-k8s.io/v1alpha1)"
                                            + " is not served")));

    server.clearExpectations();

    eventually().until(() -> hasStatus("shop", "echo") && imports.findings().isEmpty());
  }

  private void start(Duration resync) {
    imports =
        new ServiceImports(
            client,
            EAST,
            executor,
            System::nanoTime,
            new SplittableRandom(7),
            new ServiceImports.Settings(
                Duration.ofMillis(10),
                Duration.ofMillis(100),
                resync,
                Duration.ofMillis(10),
                Duration.ofMillis(100)));
  }

  /** The MCS CRD, which a real cluster serves ServiceImports by. */
  private void registerCrd(boolean statusSubresource) {
    if (!statusSubresource) {
      return;
    }
    CustomResourceDefinition crd =
        new CustomResourceDefinitionBuilder()
            .withNewMetadata()
            .withName("serviceimports.multicluster.x-k8s.io")
            .endMetadata()
            .withNewSpec()
            .withGroup("multicluster.x-k8s.io")
            .withScope("Namespaced")
            .withNewNames()
            .withKind("ServiceImport")
            .withPlural("serviceimports")
            .withSingular("serviceimport")
            .endNames()
            .addNewVersion()
            .withName("v1alpha1")
            .withServed(true)
            .withStorage(true)
            .withNewSubresources()
            .withNewStatus()
            .endStatus()
            .endSubresources()
            .endVersion()
            .endSpec()
            .build();
    client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
  }

  private static ServiceImportSet set(ImportedService... services) {
    return new ServiceImportSet(Arrays.asList(services), Set.of(), List.of());
  }

  private static ImportedService imported(
      String namespace,
      String name,
      List<String> ips,
      List<String> clusters,
      ServicePort... ports) {
    return new ImportedService(
        ServiceKey.of(namespace, name),
        List.of(ports),
        clusters.stream().map(ClusterName::of).toList(),
        ips,
        "");
  }

  private static dev.fedmesh.federation.v1.ImportedService proto(
      String namespace, String name, String ip, int port) {
    return dev.fedmesh.federation.v1.ImportedService.newBuilder()
        .setNamespace(namespace)
        .setName(name)
        .addPorts(
            dev.fedmesh.federation.v1.ServicePort.newBuilder()
                .setName("http")
                .setPort(port)
                .setProtocol(dev.fedmesh.federation.v1.Protocol.HTTP))
        .addClusters("west")
        .addIps(ip)
        .build();
  }

  private static Map<String, Object> port(String name, int port, String appProtocol) {
    Map<String, Object> written = new LinkedHashMap<>();
    written.put("name", name);
    written.put("port", port);
    written.put("protocol", "TCP");
    if (appProtocol != null) {
      written.put("appProtocol", appProtocol);
    }
    return written;
  }

  private static GenericKubernetesResource usersOwn(String namespace, String name) {
    GenericKubernetesResource object =
        new GenericKubernetesResourceBuilder()
            .withApiVersion("multicluster.x-k8s.io/v1alpha1")
            .withKind("ServiceImport")
            .withNewMetadata()
            .withNamespace(namespace)
            .withName(name)
            .withLabels(Map.of(ServiceImports.MANAGED_BY_LABEL, "another-mcs-controller"))
            .endMetadata()
            .build();
    object.setAdditionalProperty(
        "spec",
        Map.of(
            "type",
            "Headless",
            "ports",
            List.of(Map.of("name", "web", "port", 80, "protocol", "TCP"))));
    object.setAdditionalProperty(
        "status", Map.of("clusters", List.of(Map.of("cluster", "elsewhere"))));
    return object;
  }

  private GenericKubernetesResource serviceImport(String namespace, String name) {
    return client
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .inNamespace(namespace)
        .withName(name)
        .get();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> spec(String namespace, String name) {
    GenericKubernetesResource object = serviceImport(namespace, name);
    return object == null
        ? Map.of()
        : (Map<String, Object>) object.getAdditionalProperties().getOrDefault("spec", Map.of());
  }

  @SuppressWarnings("unchecked")
  private List<String> clusters(String namespace, String name) {
    GenericKubernetesResource object = serviceImport(namespace, name);
    if (object == null
        || !(object.getAdditionalProperties().get("status") instanceof Map<?, ?> status)) {
      return List.of();
    }
    return ((List<Map<String, Object>>) status.get("clusters"))
        .stream().map(c -> (String) c.get("cluster")).toList();
  }

  /** Exists, and its status lists its clusters (written last, on its own where kept apart). */
  private boolean hasStatus(String namespace, String name) {
    return !clusters(namespace, name).isEmpty();
  }

  private String json(GenericKubernetesResource object) {
    return client.getKubernetesSerialization().asJson(object);
  }

  private static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10));
  }
}
