package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.agent.AgentMain;
import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import dev.fedmesh.agent.injection.InjectionSettings;
import dev.fedmesh.agent.injection.NamespaceLabels;
import dev.fedmesh.agent.injection.SidecarInjector;
import dev.fedmesh.agent.injection.WebhookCertificate;
import dev.fedmesh.agent.injection.WebhookServer;
import dev.fedmesh.agent.status.AgentMetrics;
import dev.fedmesh.agent.status.AgentStatus;
import dev.fedmesh.agent.status.StatusServer;
import dev.fedmesh.controller.ControllerMain;
import dev.fedmesh.gateway.DirectConfigSource;
import dev.fedmesh.gateway.EastWestGateway;
import dev.fedmesh.gateway.GatewayMain;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.CaMaterial;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SpiffeId;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.TrustDomain;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * The names, ports, addresses, secrets, images and identities that the manifests and the code
 * expect of each other agree: each rendered overlay (node addresses filled in as the lab script
 * does) is read as the kubelet would hand it to the processes, its arguments are parsed by the
 * components' own option parsers, and what the code decides at runtime (the injected pod, the
 * webhook's path, the status and admin pages) is asked of the code itself.
 */
class DeployWiringTest {
  private static final String NAMESPACE = "fedmesh-system";
  private static final String AGENT = "fedmesh-agent";
  private static final String GATEWAY = "fedmesh-eastwestgateway";
  private static final String CONTROLLER = "fedmesh-controller";

  @TempDir Path temp;

  // --- the processes' arguments -----------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void everyArgumentResolvesAndParsesWithItsComponentsOwnOptions(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    Map<String, Function<List<String>, Object>> components =
        Map.of(
            AGENT, args -> parse(new AgentMain(), args),
            GATEWAY, args -> parse(new GatewayMain(), args));
    Map<String, String> words =
        Map.of(AGENT, "agent", GATEWAY, "gateway", CONTROLLER, "controller");
    List<String> deployments = new ArrayList<>(List.of(AGENT, GATEWAY));
    if (cluster.equals("east")) {
      deployments.add(CONTROLLER);
    }
    for (String deployment : deployments) {
      List<String> args = args(rendered, deployment);
      assertThat(args)
          .as(deployment)
          .isNotEmpty()
          .noneMatch(a -> a.contains("$(") || a.contains("__"));
      // The image's entry point is the fedmesh command; the first argument names the component.
      assertThat(args.get(0)).as(deployment).isEqualTo(words.get(deployment));
      List<String> options = args.subList(1, args.size());
      if (deployment.equals(CONTROLLER)) {
        parse(new ControllerMain(), options);
      } else {
        components.get(deployment).apply(options);
      }
    }
    for (StatefulSet set : rendered.all(StatefulSet.class)) {
      Container container = set.getSpec().getTemplate().getSpec().getContainers().get(0);
      assertThat(
              ContainerArgs.resolve(
                  container,
                  configMaps(rendered),
                  new ContainerArgs.PodFacts(set.getMetadata().getName() + "-0", NAMESPACE)))
          .noneMatch(a -> a.contains("$("));
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void placeholdersAreOnlyTheNodeAddressesTheLabFillsIn(String cluster) {
    String raw = Kustomize.render("overlays/" + cluster);
    Set<String> placeholders = new TreeSet<>();
    Matcher matcher = Pattern.compile("__[A-Z_]+__").matcher(raw);
    while (matcher.find()) {
      placeholders.add(matcher.group());
    }
    assertThat(placeholders)
        .isEqualTo(
            cluster.equals("east")
                ? Set.of(Kustomize.GATEWAY_PLACEHOLDER)
                : Set.of(Kustomize.CONTROLLER_PLACEHOLDER, Kustomize.GATEWAY_PLACEHOLDER));
    // Only in the cluster's settings, where the agent and gateway read them.
    Rendered unfilled = Rendered.overlay(cluster);
    Map<String, String> config = unfilled.clusterConfig().getData();
    assertThat(config.get("gateway")).startsWith(Kustomize.GATEWAY_PLACEHOLDER + ":");
    long inConfig = config.values().stream().filter(v -> v.contains("__")).count();
    assertThat(inConfig).isEqualTo(placeholders.size());
    assertThat(
            Stream.of(raw.split("\n"))
                .filter(line -> line.contains("__"))
                .map(String::strip)
                .toList())
        .allMatch(line -> line.startsWith("gateway: ") || line.startsWith("controller: "));
    // Left unfilled, the agent refuses to start: a gateway must be an IP address.
    String gateway = config.get("gateway");
    assertThatThrownBy(
            () -> new GatewayAddress(ContainerArgs.host(gateway), ContainerArgs.port(gateway)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Kustomize.renderForLab(cluster)).doesNotContain("__");
  }

  // --- addresses and ports ----------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void theGatewayTheAgentAnnouncesIsTheGatewaysNodePort(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    List<String> agent = args(rendered, AGENT);
    List<String> gateway = args(rendered, GATEWAY);
    Service service = rendered.get(Service.class, GATEWAY);

    List<String> announced = ContainerArgs.flags(agent, "--gateway");
    assertThat(announced).hasSize(1);
    String address = announced.get(0);
    GatewayAddress parsed =
        new GatewayAddress(ContainerArgs.host(address), ContainerArgs.port(address));
    assertThat(parsed.address()).isEqualTo(Kustomize.NODE_ADDRESSES.get(cluster));
    ServicePort port = service.getSpec().getPorts().get(0);
    assertThat(service.getSpec().getType()).isEqualTo("NodePort");
    assertThat(port.getNodePort()).isEqualTo(parsed.port());
    int listen = ContainerArgs.port(ContainerArgs.flag(gateway, "--listen").orElseThrow());
    assertThat(port.getTargetPort().getIntVal()).isEqualTo(listen);
    assertThat(listen).isEqualTo(EastWestGateway.DEFAULT_PORT);
    assertSelectsAndTargets(rendered, service, GATEWAY);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void agentsGatewaysAndSidecarsDialTheControllersXdsPort(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    Rendered east = Rendered.forLab("east");
    List<String> controller = args(east, CONTROLLER);
    int xds = ContainerArgs.port(ContainerArgs.flag(controller, "--xds-address").orElseThrow());
    String expected;
    if (cluster.equals("east")) {
      Service service = east.get(Service.class, CONTROLLER);
      ServicePort port = portNamed(service, "grpc-xds");
      assertThat(port.getTargetPort().getIntVal()).isEqualTo(xds);
      assertSelectsAndTargets(east, service, CONTROLLER);
      expected = CONTROLLER + "." + NAMESPACE + ".svc:" + port.getPort();
    } else {
      Service external = east.get(Service.class, CONTROLLER + "-external");
      ServicePort port = portNamed(external, "grpc-xds");
      assertThat(port.getTargetPort().getIntVal()).isEqualTo(xds);
      assertSelectsAndTargets(east, external, CONTROLLER);
      expected = Kustomize.NODE_ADDRESSES.get("east") + ":" + port.getNodePort();
    }
    assertThat(ContainerArgs.flags(args(rendered, AGENT), "--controller"))
        .containsExactly(expected);
    assertThat(ContainerArgs.flags(args(rendered, GATEWAY), "--controller"))
        .containsExactly(expected);
    assertThat(Injection.settings(args(rendered, AGENT)).controllerAddress()).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void injectedSidecarsGetCertificatesFromTheAgentsCaService(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    List<String> agent = args(rendered, AGENT);
    String caAddress = ContainerArgs.flag(agent, "--ca-address").orElseThrow();
    // The manifest says what the agent would default to anyway.
    assertThat(caAddress)
        .isEqualTo(
            new CommandLine(new AgentMain())
                .getCommandSpec()
                .findOption("--ca-address")
                .defaultValue())
        .isEqualTo(AGENT + "." + NAMESPACE + ".svc:15012");
    Service service = serviceNamedBy(rendered, ContainerArgs.host(caAddress));
    ServicePort port =
        service.getSpec().getPorts().stream()
            .filter(p -> p.getPort() == ContainerArgs.port(caAddress))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no port " + caAddress + " on the Service"));
    assertThat(port.getTargetPort().getIntVal())
        .isEqualTo(ContainerArgs.port(ContainerArgs.flag(agent, "--ca-listen").orElseThrow()));
    assertSelectsAndTargets(rendered, service, AGENT);
    // Readiness is "in sync with the controller", which the CA does not need.
    assertThat(service.getSpec().getPublishNotReadyAddresses()).isTrue();

    Pod injected = inject(rendered);
    assertThat(env(proxy(injected))).containsEntry("FEDMESH_CA_ADDRESS", caAddress);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void theWebhookConfigurationPointsAtTheAgentsWebhook(String cluster) throws Exception {
    Rendered rendered = Rendered.forLab(cluster);
    List<String> agent = args(rendered, AGENT);
    MutatingWebhookConfiguration configuration =
        rendered.get(
            MutatingWebhookConfiguration.class,
            ContainerArgs.flag(agent, "--webhook-configuration").orElseThrow());
    assertThat(configuration.getWebhooks()).hasSize(1);
    MutatingWebhook webhook = configuration.getWebhooks().get(0);
    var reference = webhook.getClientConfig().getService();
    assertThat(reference.getNamespace()).isEqualTo(NAMESPACE);
    Service service = rendered.get(Service.class, reference.getName());
    ServicePort port =
        service.getSpec().getPorts().stream()
            .filter(p -> p.getPort().equals(reference.getPort()))
            .findFirst()
            .orElseThrow();
    int webhookPort =
        ContainerArgs.port(ContainerArgs.flag(agent, "--webhook-address").orElseThrow());
    assertThat(port.getTargetPort().getIntVal()).isEqualTo(webhookPort);
    assertSelectsAndTargets(rendered, service, AGENT);
    // The API server checks the webhook's certificate against this name.
    assertThat(ContainerArgs.flags(agent, "--webhook-dns-name"))
        .containsExactly(reference.getName() + "." + reference.getNamespace() + ".svc");
    assertThat(webhook.getClientConfig().getCaBundle())
        .as("left to the agent, so a re-apply never undoes it")
        .isNull();
    assertThat(webhook.getNamespaceSelector().getMatchLabels())
        .isEqualTo(Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled"));
    assertThat(webhook.getFailurePolicy()).isEqualTo("Fail");
    assertThat(webhook.getSideEffects()).isEqualTo("None");
    assertThat(webhook.getAdmissionReviewVersions()).containsExactly("v1");
    assertThat(webhook.getRules())
        .singleElement()
        .satisfies(
            rule -> {
              assertThat(rule.getOperations()).containsExactly("CREATE");
              assertThat(rule.getResources()).containsExactly("pods");
            });

    // The webhook answers on the configured path, with a certificate for the configured name.
    WebhookCertificate certificate =
        WebhookCertificate.generate(
            ContainerArgs.flags(agent, "--webhook-dns-name"),
            Clock.systemUTC(),
            Duration.ofHours(1));
    Map<String, String> labels = webhook.getNamespaceSelector().getMatchLabels();
    NamespaceLabels namespaces = namespace -> Optional.of(labels);
    try (WebhookServer server =
        WebhookServer.start(
            new InetSocketAddress("127.0.0.1", 0),
            certificate,
            new SidecarInjector(Injection.settings(agent), namespaces),
            new AgentMetrics())) {
      WebhookCall.Answer answer =
          WebhookCall.post(
              URI.create("https://127.0.0.1:" + server.address().getPort() + reference.getPath()),
              certificate.caBundle().orElseThrow(),
              ContainerArgs.flag(agent, "--webhook-dns-name").orElseThrow(),
              Injection.review("shop"));
      assertThat(answer.status()).as(answer.body()).isEqualTo(200);
      assertThat(answer.body()).contains("\"allowed\":true").contains("\"patch\"");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void injectedPodsRunTheImagesUserAndTokenTheRestExpects(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    Map<String, String> config = rendered.clusterConfig().getData();
    String image = container(rendered, AGENT).getImage();
    Pod pod = inject(rendered);

    Container proxy = proxy(pod);
    assertThat(proxy.getImage()).isEqualTo(image).isEqualTo(config.get("proxy-image"));
    assertThat(proxy.getArgs()).containsExactly("sidecar");
    assertThat(env(proxy))
        .containsEntry("FEDMESH_CLUSTER", cluster)
        .containsEntry("FEDMESH_NETWORK", config.get("network"))
        .containsEntry("FEDMESH_TRUST_DOMAIN", config.get("trust-domain"));
    Container init =
        pod.getSpec().getInitContainers().stream()
            .filter(c -> c.getName().equals("fedmesh-init"))
            .findFirst()
            .orElseThrow();
    assertThat(init.getImage()).isEqualTo(config.get("proxy-init-image"));

    // The proxy's own traffic is what the iptables rules let through.
    long uid = InjectionSettings.DEFAULT_PROXY_UID;
    assertThat(proxy.getSecurityContext().getRunAsUser()).isEqualTo(uid);
    assertThat(proxy.getSecurityContext().getRunAsGroup()).isEqualTo(uid);
    String script = init.getCommand().get(init.getCommand().size() - 1);
    assertThat(script)
        .contains("--uid-owner " + uid + " -j RETURN", "--gid-owner " + uid + " -j RETURN");

    // The token the sidecar shows the CA is projected for the audience the CA accepts.
    Volume tokens =
        pod.getSpec().getVolumes().stream()
            .filter(v -> v.getProjected() != null)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no projected token volume"));
    var projected = tokens.getProjected().getSources().get(0).getServiceAccountToken();
    assertThat(projected.getAudience()).isEqualTo(TokenReviewAuthenticator.AUDIENCE);
    VolumeMount mount =
        proxy.getVolumeMounts().stream()
            .filter(m -> m.getName().equals(tokens.getName()))
            .findFirst()
            .orElseThrow();
    assertThat(env(proxy).get("FEDMESH_CA_TOKEN"))
        .isEqualTo(mount.getMountPath() + "/" + projected.getPath());

    // ConfigMaps the injector mounts must exist in the pod's namespace: the lab creates
    // fedmesh-root-cert (key root-cert.pem) in every injected namespace, and nothing else.
    for (Volume volume : pod.getSpec().getVolumes()) {
      if (volume.getConfigMap() != null) {
        assertThat(volume.getConfigMap().getName()).isEqualTo("fedmesh-root-cert");
      }
    }
    // Where the sidecar reads the mesh's roots (once the injector tells it): that ConfigMap's key.
    String roots = env(proxy).get("FEDMESH_CA_ROOTS");
    if (roots != null) {
      VolumeMount rootsMount =
          ContainerArgs.mountOf(proxy, roots)
              .orElseThrow(() -> new AssertionError(roots + " is not mounted"));
      Volume rootsVolume =
          pod.getSpec().getVolumes().stream()
              .filter(v -> v.getName().equals(rootsMount.getName()))
              .findFirst()
              .orElseThrow();
      assertThat(rootsVolume.getConfigMap().getName()).isEqualTo("fedmesh-root-cert");
      assertThat(roots).isEqualTo(rootsMount.getMountPath() + "/" + CaMaterial.ROOT_CERT);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void everyFedmeshContainerRunsTheOneImage(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    String image = rendered.clusterConfig().getData().get("proxy-image");
    assertThat(image).isEqualTo("fedmesh/fedmesh:dev");
    for (Rendered.Workload workload : rendered.workloads()) {
      for (Container container : workload.pod().getContainers()) {
        if (!workload.name().equals("StatefulSet/etcd")) {
          assertThat(container.getImage()).as(workload.name()).isEqualTo(image);
          assertThat(container.getCommand())
              .as(workload.name() + ": the image's entry point")
              .isNullOrEmpty();
        }
      }
    }
    assertThat(ContainerArgs.flag(args(rendered, AGENT), "--proxy-image")).contains(image);
  }

  // --- secrets and identities ------------------------------------------------------------

  /** A flag that names a mounted secret file or directory, and the keys it needs there. */
  private record SecretUse(
      String deployment, String flag, String secret, boolean directory, Set<String> keys) {}

  private static final List<SecretUse> SECRETS =
      List.of(
          new SecretUse(
              AGENT,
              "--ca-dir",
              "fedmesh-cluster-ca",
              true,
              Set.of(
                  CaMaterial.CA_CERT,
                  CaMaterial.CA_KEY,
                  CaMaterial.CERT_CHAIN,
                  CaMaterial.ROOT_CERT)),
          new SecretUse(
              AGENT,
              "--controller-roots",
              "fedmesh-cluster-ca",
              false,
              Set.of(CaMaterial.ROOT_CERT)),
          new SecretUse(AGENT, "--token-file", "fedmesh-agent-token", false, Set.of("token")),
          new SecretUse(
              GATEWAY,
              "--tls-dir",
              "fedmesh-eastwestgateway-tls",
              true,
              Set.of(SvidFiles.CERT_CHAIN, SvidFiles.KEY, SvidFiles.ROOTS)),
          new SecretUse(
              CONTROLLER,
              "--tls-dir",
              "fedmesh-controller-tls",
              true,
              Set.of(SvidFiles.CERT_CHAIN, SvidFiles.KEY, SvidFiles.ROOTS)),
          new SecretUse(
              CONTROLLER, "--agent-tokens", "fedmesh-agent-tokens", false, Set.of("agents.yaml")),
          new SecretUse(
              CONTROLLER,
              "--admin-token-file",
              "fedmesh-admin-token",
              false,
              Set.of("admin-token")));

  @Test
  void mountedSecretsHoldWhatTheFlagsRead() {
    Rendered east = Rendered.forLab("east");
    for (SecretUse use : SECRETS) {
      String where = use.deployment() + " " + use.flag();
      Container container = container(east, use.deployment());
      String path = ContainerArgs.flag(args(east, use.deployment()), use.flag()).orElseThrow();
      VolumeMount mount =
          ContainerArgs.mountOf(container, path)
              .orElseThrow(() -> new AssertionError(where + ": " + path + " is not mounted"));
      assertThat(mount.getReadOnly()).as(where).isTrue();
      Volume volume =
          east
              .get(Deployment.class, use.deployment())
              .getSpec()
              .getTemplate()
              .getSpec()
              .getVolumes()
              .stream()
              .filter(v -> v.getName().equals(mount.getName()))
              .findFirst()
              .orElseThrow();
      assertThat(volume.getSecret()).as(where + ": a Secret volume").isNotNull();
      assertThat(volume.getSecret().getSecretName()).as(where).isEqualTo(use.secret());
      if (use.directory()) {
        assertThat(path).as(where).isEqualTo(mount.getMountPath());
      } else {
        assertThat(path)
            .as(where)
            .isEqualTo(mount.getMountPath() + "/" + use.keys().iterator().next());
      }
      if (volume.getSecret().getItems() != null && !volume.getSecret().getItems().isEmpty()) {
        assertThat(volume.getSecret().getItems())
            .extracting(item -> item.getKey())
            .as(where)
            .containsAll(use.keys());
      }
    }
  }

  @Test
  void theFilesTheCaCommandsWriteAreTheKeysTheSecretsNeed() throws IOException {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TrustDomain.of("fedmesh.local")).build(), Clock.systemUTC());
    ClusterCa ca =
        root.issueIntermediate(
            IntermediateSpec.of(dev.fedmesh.model.ClusterName.of("west")), Clock.systemUTC());
    // What `fedmesh ca intermediate` writes; the agent's --ca-dir reads a Secret of those keys.
    Path written = temp.resolve("intermediate");
    CaFiles.writeClusterCa(ca, written, false);
    Set<String> needed = SECRETS.get(0).keys();
    assertThat(fileNames(written)).containsAll(needed);
    Path mounted = copyOnly(written, needed, temp.resolve("mounted-ca"));
    assertThat(CaFiles.readClusterCa(mounted, Optional.empty(), Clock.systemUTC()).trustDomain())
        .isEqualTo(TrustDomain.of("fedmesh.local"));

    // What `fedmesh ca control-plane-cert` writes; --tls-dir reads a Secret of those keys.
    Path svid = temp.resolve("svid");
    SvidFiles.write(
        svid,
        ControlPlaneTls.issue(
            SvidIssuer.of(ca, SvidPolicy.of(), Clock.systemUTC()),
            CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, GATEWAY),
            Duration.ofHours(1)),
        ca.roots());
    Set<String> tls = SECRETS.get(3).keys();
    assertThat(fileNames(svid)).containsAll(tls);
    SvidFiles.read(copyOnly(svid, tls, temp.resolve("mounted-tls")), Clock.systemUTC());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void serviceAccountsAreTheIdentitiesTheControlPlaneChecks(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    TrustDomain domain = TrustDomain.of(rendered.clusterConfig().getData().get("trust-domain"));
    Map<String, SpiffeId> identities =
        cluster.equals("east")
            ? Map.of(
                AGENT, ControlPlaneTls.agentId(domain),
                GATEWAY, ControlPlaneTls.gatewayId(domain),
                CONTROLLER, ControlPlaneTls.controllerId(domain))
            : Map.of(
                AGENT, ControlPlaneTls.agentId(domain), GATEWAY, ControlPlaneTls.gatewayId(domain));
    for (var entry : identities.entrySet()) {
      Deployment deployment = rendered.get(Deployment.class, entry.getKey());
      String account = deployment.getSpec().getTemplate().getSpec().getServiceAccountName();
      assertThat(
              "spiffe://"
                  + domain.name()
                  + "/ns/"
                  + deployment.getMetadata().getNamespace()
                  + "/sa/"
                  + account)
          .as(entry.getKey())
          .isEqualTo(entry.getValue().toString());
    }
    assertThat(NAMESPACE).isEqualTo(ControlPlaneTls.SYSTEM_NAMESPACE);

    // Only the agent is bound to any role; the others get no token at all.
    List<Subject> subjects = new ArrayList<>();
    rendered.all(ClusterRoleBinding.class).forEach(b -> subjects.addAll(b.getSubjects()));
    rendered.all(RoleBinding.class).forEach(b -> subjects.addAll(b.getSubjects()));
    assertThat(subjects)
        .extracting(s -> s.getKind() + ":" + s.getNamespace() + ":" + s.getName())
        .containsExactly("ServiceAccount:" + NAMESPACE + ":" + AGENT);
    for (Rendered.Workload workload : rendered.workloads()) {
      boolean agent = workload.name().equals("Deployment/" + AGENT);
      assertThat(workload.pod().getAutomountServiceAccountToken())
          .as(workload.name() + " mounts a service account token")
          .isEqualTo(agent);
    }
  }

  // --- the store -------------------------------------------------------------------------

  @Test
  void theControllerFindsEveryEtcdMemberWhereTheStatefulSetPutsIt() {
    Rendered east = Rendered.forLab("east");
    StatefulSet etcd = east.get(StatefulSet.class, "etcd");
    Service headless = east.get(Service.class, etcd.getSpec().getServiceName());
    assertThat(headless.getSpec().getClusterIP()).isEqualTo("None");
    assertThat(headless.getSpec().getPublishNotReadyAddresses()).isTrue();
    int client = portNamed(headless, "client").getPort();
    int peer = portNamed(headless, "peer").getPort();
    String domain = headless.getMetadata().getName() + "." + NAMESPACE + ".svc";
    List<String> members = new ArrayList<>();
    for (int i = 0; i < etcd.getSpec().getReplicas(); i++) {
      members.add(etcd.getMetadata().getName() + "-" + i);
    }
    assertThat(ContainerArgs.flag(args(east, CONTROLLER), "--etcd").orElseThrow().split(","))
        .containsExactlyElementsOf(
            members.stream().map(m -> "http://" + m + "." + domain + ":" + client).toList());
    Container container = etcd.getSpec().getTemplate().getSpec().getContainers().get(0);
    List<String> member0 =
        ContainerArgs.resolve(
            container, configMaps(east), new ContainerArgs.PodFacts(members.get(0), NAMESPACE));
    assertThat(ContainerArgs.flag(member0, "--initial-cluster").orElseThrow())
        .isEqualTo(
            members.stream()
                .map(m -> m + "=http://" + m + "." + domain + ":" + peer)
                .collect(Collectors.joining(",")));
    assertThat(ContainerArgs.flag(member0, "--name")).contains(members.get(0));
    assertThat(ContainerArgs.flag(member0, "--advertise-client-urls"))
        .contains("http://" + members.get(0) + "." + domain + ":" + client);
    assertThat(ContainerArgs.flag(member0, "--initial-advertise-peer-urls"))
        .contains("http://" + members.get(0) + "." + domain + ":" + peer);
    assertThat(
            ContainerArgs.port(ContainerArgs.flag(member0, "--listen-client-urls").orElseThrow()))
        .isEqualTo(client);
    assertThat(ContainerArgs.port(ContainerArgs.flag(member0, "--listen-peer-urls").orElseThrow()))
        .isEqualTo(peer);
    assertThat(container.getLivenessProbe().getHttpGet().getPort().getIntVal())
        .isEqualTo(
            ContainerArgs.port(ContainerArgs.flag(member0, "--listen-metrics-urls").orElseThrow()));
  }

  // --- health -----------------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void probesAskTheComponentsOwnHealthPages(String cluster) throws Exception {
    Rendered rendered = Rendered.forLab(cluster);
    assertProbes(rendered, AGENT, "--status-address", "HTTP");
    assertProbes(rendered, GATEWAY, "--admin", "HTTP");
    if (cluster.equals("east")) {
      // With --tls-dir the controller's admin API is HTTPS (its own SVID).
      assertThat(ContainerArgs.flag(args(rendered, CONTROLLER), "--tls-dir")).isPresent();
      assertProbes(rendered, CONTROLLER, "--admin-address", "HTTPS");
    }

    // The agent's status server: /healthz answers at once, /ready only once in sync.
    Container agent = container(rendered, AGENT);
    try (StatusServer status =
        StatusServer.start(
            new InetSocketAddress("127.0.0.1", 0),
            () -> new AgentStatus(cluster, false, false, "", 0, 0, List.of()),
            new AgentMetrics())) {
      assertThat(get(status.address(), agent.getLivenessProbe().getHttpGet().getPath()))
          .isEqualTo(200);
      assertThat(get(status.address(), agent.getReadinessProbe().getHttpGet().getPath()))
          .isEqualTo(503);
    }
    // The gateway's admin server: /healthz at once, /ready once a config with a listener is active.
    Container gateway = container(rendered, GATEWAY);
    try (EastWestGateway running =
        EastWestGateway.builder(new DirectConfigSource())
            .listen(new InetSocketAddress("127.0.0.1", 0))
            .admin(new InetSocketAddress("127.0.0.1", 0))
            .start()) {
      InetSocketAddress admin = running.adminAddress().orElseThrow();
      assertThat(get(admin, gateway.getLivenessProbe().getHttpGet().getPath())).isEqualTo(200);
      assertThat(get(admin, gateway.getReadinessProbe().getHttpGet().getPath())).isEqualTo(503);
    }
  }

  private static void assertProbes(
      Rendered rendered, String deployment, String flag, String scheme) {
    Container container = container(rendered, deployment);
    int port =
        ContainerArgs.port(ContainerArgs.flag(args(rendered, deployment), flag).orElseThrow());
    for (var probe : List.of(container.getStartupProbe(), container.getLivenessProbe())) {
      HTTPGetAction get = probe.getHttpGet();
      assertThat(get.getPath()).as(deployment).isEqualTo("/healthz");
      assertThat(get.getPort().getIntVal()).as(deployment).isEqualTo(port);
      assertThat(Optional.ofNullable(get.getScheme()).orElse("HTTP"))
          .as(deployment)
          .isEqualTo(scheme);
    }
    HTTPGetAction ready = container.getReadinessProbe().getHttpGet();
    assertThat(ready.getPath()).as(deployment).isEqualTo("/ready");
    assertThat(ready.getPort().getIntVal()).as(deployment).isEqualTo(port);
    assertThat(Optional.ofNullable(ready.getScheme()).orElse("HTTP"))
        .as(deployment)
        .isEqualTo(scheme);
  }

  /** Every Service selects the pods of exactly one workload, on ports those pods declare. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void servicesSelectTheirWorkloadsAndTargetDeclaredPorts(String cluster) {
    Rendered rendered = Rendered.forLab(cluster);
    for (Service service : rendered.all(Service.class)) {
      List<Rendered.Workload> selected =
          rendered.workloads().stream()
              .filter(
                  w ->
                      w.template()
                          .getMetadata()
                          .getLabels()
                          .entrySet()
                          .containsAll(service.getSpec().getSelector().entrySet()))
              .toList();
      assertThat(selected).as("workloads of Service " + service.getMetadata().getName()).hasSize(1);
      Set<Integer> declared =
          selected.get(0).pod().getContainers().stream()
              .flatMap(c -> c.getPorts().stream())
              .map(p -> p.getContainerPort())
              .collect(Collectors.toSet());
      for (ServicePort port : service.getSpec().getPorts()) {
        assertThat(declared)
            .as("Service " + service.getMetadata().getName() + " port " + port.getName())
            .contains(port.getTargetPort().getIntVal());
      }
    }
  }

  // --- helpers ----------------------------------------------------------------------------

  private static void assertSelectsAndTargets(
      Rendered rendered, Service service, String deployment) {
    Deployment target = rendered.get(Deployment.class, deployment);
    assertThat(target.getSpec().getTemplate().getMetadata().getLabels())
        .as("pods of " + deployment + " selected by Service " + service.getMetadata().getName())
        .containsAllEntriesOf(service.getSpec().getSelector());
  }

  private static Object parse(Object command, List<String> options) {
    CommandLine line = new CommandLine(command);
    try {
      line.parseArgs(options.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      throw new AssertionError(
          line.getCommandName()
              + " refuses the manifest's arguments "
              + options
              + ": "
              + e.getMessage(),
          e);
    }
    return command;
  }

  static List<String> args(Rendered rendered, String deployment) {
    Deployment found = rendered.get(Deployment.class, deployment);
    return ContainerArgs.resolve(
        found.getSpec().getTemplate().getSpec().getContainers().get(0),
        configMaps(rendered),
        new ContainerArgs.PodFacts(
            deployment + "-7d9f8-abcde", found.getMetadata().getNamespace()));
  }

  static Container container(Rendered rendered, String deployment) {
    return rendered
        .get(Deployment.class, deployment)
        .getSpec()
        .getTemplate()
        .getSpec()
        .getContainers()
        .get(0);
  }

  static Map<String, ConfigMap> configMaps(Rendered rendered) {
    return rendered.all(ConfigMap.class).stream()
        .collect(Collectors.toMap(m -> m.getMetadata().getName(), m -> m));
  }

  private static Service serviceNamedBy(Rendered rendered, String host) {
    String[] parts = host.split("\\.");
    assertThat(parts).as(host + " (expected: <service>.<namespace>.svc)").hasSize(3);
    assertThat(parts[2]).isEqualTo("svc");
    Service service = rendered.get(Service.class, parts[0]);
    assertThat(service.getMetadata().getNamespace()).isEqualTo(parts[1]);
    return service;
  }

  private static ServicePort portNamed(Service service, String name) {
    return service.getSpec().getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError(service.getMetadata().getName() + ": no port " + name));
  }

  /** A pod injected by the agent of {@code rendered}, in a namespace its webhook selects. */
  private static Pod inject(Rendered rendered) {
    MutatingWebhookConfiguration configuration =
        rendered.get(MutatingWebhookConfiguration.class, "fedmesh-sidecar-injector");
    Map<String, String> labels =
        configuration.getWebhooks().get(0).getNamespaceSelector().getMatchLabels();
    return Injection.inject(Injection.settings(args(rendered, AGENT)), "shop", labels);
  }

  private static Container proxy(Pod pod) {
    return pod.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals("fedmesh-proxy"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no fedmesh-proxy container"));
  }

  private static Map<String, String> env(Container container) {
    return container.getEnv().stream()
        .filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }

  private static int get(InetSocketAddress address, String path) throws IOException {
    HttpURLConnection connection =
        (HttpURLConnection)
            URI.create("http://127.0.0.1:" + address.getPort() + path).toURL().openConnection();
    try {
      return connection.getResponseCode();
    } finally {
      connection.disconnect();
    }
  }

  private static Set<String> fileNames(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  /** A directory holding only {@code keys} of {@code from}, as a Secret of those keys mounts. */
  private static Path copyOnly(Path from, Set<String> keys, Path to) throws IOException {
    Files.createDirectories(to);
    for (String key : keys) {
      Files.copy(from.resolve(key), to.resolve(key));
    }
    return to;
  }
}
