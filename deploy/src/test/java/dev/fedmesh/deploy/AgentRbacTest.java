package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.ca.ClusterCaServer;
import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import dev.fedmesh.agent.injection.NamespaceLabels;
import dev.fedmesh.agent.injection.SidecarInjector;
import dev.fedmesh.agent.injection.WebhookCertificate;
import dev.fedmesh.agent.injection.WebhookRegistration;
import dev.fedmesh.agent.injection.WebhookServer;
import dev.fedmesh.agent.kubernetes.KubernetesEndpointSource;
import dev.fedmesh.agent.kubernetes.KubernetesEvents;
import dev.fedmesh.agent.kubernetes.ServiceImports;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.agent.status.AgentMetrics;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.KeyIdentifiers;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import dev.fedmesh.trust.X509Svid;
import dev.fedmesh.trust.ca.CaClient;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real agent, wired as {@code AgentMain} wires it in a cluster (Kubernetes discovery with
 * Events, ServiceImports, the injection webhook registering itself, the cluster CA asking
 * TokenReviews), runs against fabric8's mock API server in CRUD mode holding west's rendered
 * manifests, behind an authorizer that enforces exactly the RBAC those manifests grant the agent's
 * service account. It does its whole job (announces the cluster's services, sets its webhook's CA
 * bundle, keeps ServiceImports, records an Event, admits a pod, issues a certificate) with no
 * request denied and every rule used; with a rule taken away, the denial shows.
 */
class AgentRbacTest {
  private static final String CLUSTER = "west";
  private static final String SHOP = "shop";

  @TempDir Path temp;

  private final Deque<AutoCloseable> running = new ArrayDeque<>();

  @AfterEach
  void stop() throws Exception {
    while (!running.isEmpty()) {
      running.pop().close();
    }
  }

  @Test
  void theAgentDoesItsWholeJobWithNoRequestDeniedAndEveryRuleUsed() throws Exception {
    Rendered west = Rendered.forLab(CLUSTER);
    RbacAuthorizer authorizer = agentAuthorizer(west.objects());
    RbacApiServer api = start(RbacApiServer.start(authorizer));
    installAndSeed(api, west);
    FakeController controller = start(new FakeController());
    Agent agent = startAgent(api, west, controller);

    // Discovery: the exported service with its endpoint, locality and identity.
    eventually().until(() -> controller.services().containsKey(SHOP + "/checkout"));
    ServiceState checkout = controller.services().get(SHOP + "/checkout");
    assertThat(checkout.getExported()).as("exported by its ServiceExport").isTrue();
    assertThat(checkout.getEndpointsList())
        .singleElement()
        .satisfies(
            endpoint -> {
              assertThat(endpoint.getAddress()).isEqualTo("10.244.1.5");
              assertThat(endpoint.getServiceAccount()).isEqualTo("checkout");
            });
    assertThat(controller.hello().orElseThrow().getCluster()).isEqualTo(CLUSTER);
    assertThat(controller.hello().orElseThrow().getGatewaysList())
        .singleElement()
        .satisfies(
            gateway -> {
              assertThat(gateway.getAddress()).isEqualTo(Kustomize.NODE_ADDRESSES.get(CLUSTER));
              assertThat(gateway.getPort()).isEqualTo(31443);
            });
    assertThat(controller.authorization()).contains("Bearer " + agent.token());

    // The webhook registration: the configuration's caBundle is the generated certificate's CA.
    String caBundle =
        Base64.getEncoder()
            .encodeToString(
                agent
                    .webhookCertificate()
                    .caBundle()
                    .orElseThrow()
                    .getBytes(StandardCharsets.UTF_8));
    eventually()
        .until(
            () ->
                caBundle.equals(
                    api.admin()
                        .admissionRegistration()
                        .v1()
                        .mutatingWebhookConfigurations()
                        .withName("fedmesh-sidecar-injector")
                        .get()
                        .getWebhooks()
                        .get(0)
                        .getClientConfig()
                        .getCaBundle()));

    // Imports: created with their status, updated, then deleted with the set.
    controller.imports(imports(imported("payments", "240.240.0.7", "central")));
    eventually().until(() -> clustersOf(api, "payments").equals(List.of("central")));
    // What the agent writes is what the rendered CRD keeps: nothing refused, nothing pruned.
    assertThat(
            CrdSchema.problems(
                west.get(CustomResourceDefinition.class, "serviceimports.multicluster.x-k8s.io"),
                serviceImport(api, "payments")))
        .isEmpty();
    controller.imports(imports(imported("payments", "240.240.0.8", "central", "east")));
    eventually()
        .until(
            () ->
                clustersOf(api, "payments").equals(List.of("central", "east"))
                    && ipsOf(api, "payments").equals(List.of("240.240.0.8")));
    controller.imports(imports());
    eventually().until(() -> serviceImport(api, "payments") == null);

    // Events: a port whose protocol cannot be told is a Warning on its Service.
    eventually()
        .until(
            () ->
                api.admin().v1().events().inNamespace(SHOP).list().getItems().stream()
                    .anyMatch(
                        event ->
                            event.getInvolvedObject().getName().equals("legacy")
                                && event.getReason().equals(Finding.PORT_PROTOCOL_UNKNOWN)));

    // Injection: the webhook reads the pod's namespace labels and injects.
    assertThat(admit(agent, DeployWiringTest.args(west, "fedmesh-agent"), Injection.review(SHOP)))
        .contains("\"allowed\":true", "\"patch\"");

    // The cluster CA: a workload's token is reviewed, and the certificate names its account.
    api.mock()
        .expect()
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReturn(
            201,
            new TokenReviewBuilder()
                .withNewStatus()
                .withAuthenticated(true)
                .withAudiences(TokenReviewAuthenticator.AUDIENCE)
                .withNewUser()
                .withUsername("system:serviceaccount:" + SHOP + ":checkout")
                .endUser()
                .endStatus()
                .build())
        .once();
    X509Svid svid = agent.sign("token-of-shop-checkout");
    assertThat(svid.id().toString()).isEqualTo("spiffe://fedmesh.local/ns/shop/sa/checkout");

    assertThat(api.denials()).extracting(d -> d.request().describe()).isEmpty();
    List<String> unused = new ArrayList<>();
    Map<String, List<String>> verbsUsed = new LinkedHashMap<>();
    for (RbacAuthorizer.GrantedRule rule : authorizer.rules()) {
      List<String> verbs =
          api.decisions().stream()
              .filter(d -> RbacAuthorizer.grants(rule, d.request()))
              .map(d -> d.request().verb())
              .distinct()
              .sorted()
              .toList();
      verbsUsed.put(rule.describe(), verbs);
      if (verbs.isEmpty()) {
        unused.add(rule.describe());
      }
    }
    // What the rules grant beyond what this run asked for, for whoever narrows them next.
    verbsUsed.forEach((rule, verbs) -> System.out.println("used " + verbs + " of " + rule));
    assertThat(unused).as("rules the agent never needed").isEmpty();
  }

  @Test
  void withoutCreateOnServiceImportsTheAgentIsDeniedAndSaysSo() throws Exception {
    Rendered west = Rendered.forLab(CLUSTER);
    List<HasMetadata> narrowed = new ArrayList<>();
    for (HasMetadata object : west.objects()) {
      narrowed.add(
          object instanceof ClusterRole role && role.getMetadata().getName().equals("fedmesh-agent")
              ? withoutVerb(role, "serviceimports", "create")
              : object);
    }
    RbacApiServer api = start(RbacApiServer.start(agentAuthorizer(narrowed)));
    installAndSeed(api, west);
    FakeController controller = start(new FakeController());
    Agent agent = startAgent(api, west, controller);

    controller.imports(imports(imported("payments", "240.240.0.7", "central")));

    eventually()
        .until(
            () ->
                api.denials().stream()
                    .map(d -> d.request())
                    .anyMatch(
                        r ->
                            r.verb().equals("create")
                                && r.resource().equals("serviceimports")
                                && r.namespace().equals(SHOP)));
    eventually()
        .until(
            () ->
                agent.cluster().status().findings().stream()
                    .anyMatch(f -> f.kind().equals(Finding.SERVICE_IMPORT_NOT_WRITTEN)));
    assertThat(serviceImport(api, "payments")).isNull();
    assertThat(api.denials())
        .extracting(d -> d.request().verb() + " " + d.request().resource())
        .containsOnly("create serviceimports");
  }

  // --- the cluster ------------------------------------------------------------------------

  private static RbacAuthorizer agentAuthorizer(List<HasMetadata> objects) {
    var agent =
        objects.stream()
            .filter(o -> o instanceof Deployment)
            .map(o -> (Deployment) o)
            .filter(d -> d.getMetadata().getName().equals("fedmesh-agent"))
            .findFirst()
            .orElseThrow();
    return RbacAuthorizer.forServiceAccount(
        objects,
        agent.getMetadata().getNamespace(),
        agent.getSpec().getTemplate().getSpec().getServiceAccountName());
  }

  /** The overlay's objects as {@code kubectl apply} leaves them, and a small application. */
  private static void installAndSeed(RbacApiServer api, Rendered rendered) {
    KubernetesClient admin = api.admin();
    for (HasMetadata object : rendered.objects()) {
      admin.resource(object).create();
    }
    admin
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(SHOP)
                .withLabels(Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled"))
                .endMetadata()
                .build())
        .create();
    admin
        .nodes()
        .resource(
            new NodeBuilder()
                .withNewMetadata()
                .withName("west-worker")
                .withLabels(
                    Map.of(
                        "topology.kubernetes.io/region", "us-west",
                        "topology.kubernetes.io/zone", "us-west-a"))
                .endMetadata()
                .build())
        .create();
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withNamespace(SHOP)
            .withName("checkout-1")
            .withLabels(Map.of("app", "checkout", "version", "v1"))
            .endMetadata()
            .withNewSpec()
            .withServiceAccountName("checkout")
            .withNodeName("west-worker")
            .addNewContainer()
            .withName("app")
            .withImage("example/checkout:1")
            .endContainer()
            .endSpec()
            .withNewStatus()
            .withPodIP("10.244.1.5")
            .endStatus()
            .build();
    admin.pods().inNamespace(SHOP).resource(pod).create();
    admin
        .services()
        .inNamespace(SHOP)
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withNamespace(SHOP)
                .withName("checkout")
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", "checkout"))
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort()
                .endSpec()
                .build())
        .create();
    admin
        .services()
        .inNamespace(SHOP)
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withNamespace(SHOP)
                .withName("legacy")
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", "legacy"))
                .addNewPort()
                .withName("db")
                .withPort(5432)
                .withProtocol("TCP")
                .endPort()
                .endSpec()
                .build())
        .create();
    admin
        .discovery()
        .v1()
        .endpointSlices()
        .inNamespace(SHOP)
        .resource(
            new EndpointSliceBuilder()
                .withNewMetadata()
                .withNamespace(SHOP)
                .withName("checkout-x7k2p")
                .withLabels(Map.of("kubernetes.io/service-name", "checkout"))
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort()
                .addNewEndpoint()
                .withAddresses("10.244.1.5")
                .withNodeName("west-worker")
                .withNewTargetRef()
                .withKind("Pod")
                .withNamespace(SHOP)
                .withName("checkout-1")
                .endTargetRef()
                .withNewConditions()
                .withReady(true)
                .withServing(true)
                .withTerminating(false)
                .endConditions()
                .endEndpoint()
                .build())
        .create();
    GenericKubernetesResource export =
        new GenericKubernetesResourceBuilder()
            .withApiVersion("multicluster.x-k8s.io/v1alpha1")
            .withKind("ServiceExport")
            .withNewMetadata()
            .withNamespace(SHOP)
            .withName("checkout")
            .endMetadata()
            .build();
    admin
        .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
        .inNamespace(SHOP)
        .resource(export)
        .create();
  }

  // --- the agent --------------------------------------------------------------------------

  /** The running agent and what the test talks to it through. */
  private record Agent(
      ClusterAgent cluster,
      String token,
      WebhookCertificate webhookCertificate,
      WebhookServer webhook,
      ClusterCaServer ca,
      ClusterCa clusterCa) {
    X509Svid sign(String workloadToken) throws Exception {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", ca.port())
              .sslContext(
                  ControlPlaneTls.client(
                      SvidVerifier.of(
                          TrustBundleSet.of(clusterCa.trustBundle()), Clock.systemUTC()),
                      ControlPlaneTls.anyCa()))
              .build();
      try {
        return CaClient.of(channel, () -> workloadToken)
            .sign(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), Duration.ZERO)
            .get(10, TimeUnit.SECONDS);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * The agent as {@code AgentMain} starts it from the rendered Deployment's arguments, with the
   * mounted secrets made by the same code as {@code fedmesh ca intermediate}; only the controller
   * is this test's, in plaintext (the RBAC of the API server is what is under test here).
   */
  private Agent startAgent(RbacApiServer api, Rendered rendered, FakeController controller)
      throws IOException {
    List<String> args = DeployWiringTest.args(rendered, "fedmesh-agent");
    String cluster = ContainerArgs.flag(args, "--cluster").orElseThrow();
    String gateway = ContainerArgs.flag(args, "--gateway").orElseThrow();
    TrustDomain domain = TrustDomain.of(ContainerArgs.flag(args, "--trust-domain").orElseThrow());

    // The Secrets: the cluster CA in the layout `fedmesh ca intermediate` writes, and the token.
    RootCa root = RootCa.generate(RootCaSpec.builder(domain).build(), Clock.systemUTC());
    ClusterCa clusterCa =
        root.issueIntermediate(IntermediateSpec.of(ClusterName.of(cluster)), Clock.systemUTC());
    Path caDir = temp.resolve("cluster-ca-" + System.nanoTime());
    CaFiles.writeClusterCa(clusterCa, caDir, false);
    Path tokenFile = temp.resolve("token-" + System.nanoTime());
    Files.writeString(tokenFile, "agent-token-of-" + cluster + "\n");
    String token = Files.readString(tokenFile).strip();

    ClusterInfo info =
        new ClusterInfo(
                ClusterName.of(cluster),
                ContainerArgs.flag(args, "--network").orElse(cluster),
                Locality.of(
                    ContainerArgs.flag(args, "--region").orElse(""),
                    ContainerArgs.flag(args, "--zone").orElse("")),
                List.of(
                    new GatewayAddress(ContainerArgs.host(gateway), ContainerArgs.port(gateway))),
                domain.name(),
                "test")
            .withCaKeyId(
                KeyIdentifiers.subject(
                        CaFiles.readClusterCa(caDir, Optional.empty(), Clock.systemUTC())
                            .certificate())
                    .orElse(""));

    KubernetesClient kube = start(api.client(RbacApiServer.SERVICE_ACCOUNT_TOKEN));
    AgentMetrics metrics = new AgentMetrics();
    KubernetesEvents events = start(new KubernetesEvents(kube, cluster, Clock.systemUTC()));
    ClusterAgent agent =
        start(
            ClusterAgent.builder(info, List.of(controller.target()))
                .token(token)
                .source(
                    executor ->
                        new KubernetesEndpointSource(
                            kube,
                            info.name(),
                            info.locality(),
                            executor,
                            System::nanoTime,
                            KubernetesEndpointSource.Settings.defaults(),
                            events))
                .metrics(metrics)
                .serviceImports(kube)
                .start());

    WebhookCertificate certificate =
        WebhookCertificate.generate(
            ContainerArgs.flags(args, "--webhook-dns-name"), Clock.systemUTC(), Duration.ofDays(1));
    WebhookRegistration.publishCaBundle(
        kube,
        ContainerArgs.flag(args, "--webhook-configuration").orElseThrow(),
        certificate.caBundle().orElseThrow());
    WebhookServer webhook =
        start(
            WebhookServer.start(
                new InetSocketAddress("127.0.0.1", 0),
                certificate,
                new SidecarInjector(Injection.settings(args), NamespaceLabels.fromApi(kube)),
                metrics));
    ClusterCaServer ca =
        start(
            ClusterCaServer.start(
                caDir,
                new InetSocketAddress("127.0.0.1", 0),
                new TokenReviewAuthenticator(kube, TokenReviewAuthenticator.AUDIENCE)));
    return new Agent(agent, token, certificate, webhook, ca, clusterCa);
  }

  /** POSTs an AdmissionReview to the webhook as the API server would, returning the answer. */
  private static String admit(Agent agent, List<String> args, byte[] review) throws Exception {
    WebhookCall.Answer answer =
        WebhookCall.post(
            URI.create("https://127.0.0.1:" + agent.webhook().address().getPort() + "/inject"),
            agent.webhookCertificate().caBundle().orElseThrow(),
            ContainerArgs.flag(args, "--webhook-dns-name").orElseThrow(),
            review);
    assertThat(answer.status()).as(answer.body()).isEqualTo(200);
    return answer.body();
  }

  // --- helpers ----------------------------------------------------------------------------

  private <T extends AutoCloseable> T start(T closeable) {
    running.push(closeable);
    return closeable;
  }

  private static ClusterRole withoutVerb(ClusterRole role, String resource, String verb) {
    List<PolicyRule> rules = new ArrayList<>();
    for (PolicyRule rule : role.getRules()) {
      if (rule.getResources().contains(resource)) {
        List<String> verbs = new ArrayList<>(rule.getVerbs());
        verbs.remove(verb);
        rules.add(new PolicyRuleBuilder(rule).withVerbs(verbs).build());
      } else {
        rules.add(rule);
      }
    }
    return new ClusterRoleBuilder(role).withRules(rules).build();
  }

  private static dev.fedmesh.federation.v1.ServiceImports imports(ImportedService... services) {
    return dev.fedmesh.federation.v1.ServiceImports.newBuilder()
        .addAllServices(List.of(services))
        .build();
  }

  private static ImportedService imported(String name, String ip, String... clusters) {
    return ImportedService.newBuilder()
        .setNamespace(SHOP)
        .setName(name)
        .addPorts(
            dev.fedmesh.federation.v1.ServicePort.newBuilder()
                .setName("http")
                .setPort(8080)
                .setProtocol(Protocol.HTTP))
        .addAllClusters(List.of(clusters))
        .addIps(ip)
        .setVirtualAddress(ip)
        .build();
  }

  private static GenericKubernetesResource serviceImport(RbacApiServer api, String name) {
    return api.admin()
        .genericKubernetesResources(ServiceImports.SERVICE_IMPORT)
        .inNamespace(SHOP)
        .withName(name)
        .get();
  }

  @SuppressWarnings("unchecked")
  private static List<String> clustersOf(RbacApiServer api, String name) {
    GenericKubernetesResource found = serviceImport(api, name);
    if (found == null || !(found.getAdditionalProperties().get("status") instanceof Map<?, ?> s)) {
      return List.of();
    }
    return ((List<Map<String, Object>>) s.get("clusters"))
        .stream().map(c -> (String) c.get("cluster")).toList();
  }

  @SuppressWarnings("unchecked")
  private static List<String> ipsOf(RbacApiServer api, String name) {
    GenericKubernetesResource found = serviceImport(api, name);
    if (found == null || !(found.getAdditionalProperties().get("spec") instanceof Map<?, ?> s)) {
      return List.of();
    }
    return (List<String>) s.get("ips");
  }

  private static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50));
  }
}
