package dev.fedmesh.lab.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.ca.ClusterCaServer;
import dev.fedmesh.agent.kubernetes.KubernetesEndpointSource;
import dev.fedmesh.agent.kubernetes.KubernetesEvents;
import dev.fedmesh.gateway.EastWestGateway;
import dev.fedmesh.gateway.XdsConfigSource;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.proxy.http.InboundPort;
import dev.fedmesh.proxy.sidecar.Sidecar;
import dev.fedmesh.proxy.sidecar.SidecarBootstrap;
import dev.fedmesh.proxy.xds.XdsClient;
import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyIdentifiers;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidRotator;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.ca.WorkloadTokens;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One lab cluster in this process, started in the order a real cluster comes up: its Kubernetes API
 * (holding nodes, the namespace, services, pods and EndpointSlices of the demo app), its CA (an
 * intermediate of the lab's root), the agent that watches the API and feeds the controller, the
 * east-west gateway, and each pod's app and sidecar. Everything binds the cluster's own loopback
 * range, so the cluster is a network of its own; killing the process kills the whole cluster.
 */
final class ClusterHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterHost.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClusterSpec spec;
  private final Deque<AutoCloseable> running = new ArrayDeque<>();

  /** The demo apps by service, each slot able to stop and start its app (a pod's container). */
  private final java.util.Map<String, List<AppSlot>> apps = new java.util.TreeMap<>();

  /** One pod's application: what it takes to start it again, and the running instance. */
  private static final class AppSlot implements AutoCloseable {
    private final java.util.function.Supplier<DemoApp> start;
    private DemoApp app;

    AppSlot(java.util.function.Supplier<DemoApp> start) {
      this.start = start;
      this.app = start.get();
    }

    synchronized void stop() {
      if (app != null) {
        app.close();
        app = null;
      }
    }

    synchronized void start() {
      if (app == null) {
        app = start.get();
      }
    }

    @Override
    public void close() {
      stop();
    }
  }

  private final List<Pod> pods = new ArrayList<>();
  private final List<Sidecar> sidecars = new ArrayList<>();
  private final ScheduledExecutorService statusWriter =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "cluster-status");
            thread.setDaemon(true);
            return thread;
          });

  /** The lab's fault-injection endpoint of this cluster (see {@link LabControl}). */
  static final int CONTROL_PORT = 15020;

  private KubernetesMockServer api;
  private KubernetesClient kube;
  private KubernetesEvents events;
  private ClusterInfo info;
  private TrustBundleSet roots;
  private SvidRotator gatewayIdentity;
  private EastWestGateway gateway;
  private ClusterAgent agent;

  private ClusterHost(ClusterSpec spec) {
    this.spec = spec;
  }

  static ClusterHost start(ClusterSpec spec) throws Exception {
    ClusterHost host = new ClusterHost(spec);
    try {
      host.startAll();
    } catch (Exception | Error e) {
      host.close();
      throw e;
    }
    return host;
  }

  private void startAll() throws Exception {
    String infra = spec.infraAddress();
    TrustDomain trustDomain = TrustDomain.of(spec.trustDomain());

    // The Kubernetes API, with the demo app's objects in it.
    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    api =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            expectations,
            new KubernetesMixedDispatcher(expectations),
            false);
    api.init(InetAddress.getByName(infra), 0);
    running.push(api::destroy);
    KubernetesClient kube =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(Config.empty())
                    .withMasterUrl("http://" + infra + ":" + api.getPort())
                    .withNamespace(ClusterSpec.NAMESPACE)
                    .withWatchReconnectInterval(100)
                    .build())
            .build();
    running.push(kube);
    createObjects(kube);
    log.info("{}: Kubernetes API on http://{}:{}", spec.name(), infra, api.getPort());

    // The cluster CA: an intermediate of the shared root, issuing to workloads by token.
    RootCa root = CaFiles.readRoot(Path.of(spec.rootDir()), Optional.of(trustDomain));
    ClusterCa ca =
        root.issueIntermediate(IntermediateSpec.of(ClusterName.of(spec.name())), Clock.systemUTC());
    Duration ttl = Duration.ofSeconds(spec.certificateTtlSeconds());
    Duration backdate =
        ttl.compareTo(Duration.ofMinutes(10)) < 0 ? Duration.ZERO : Duration.ofMinutes(1);
    SvidIssuer issuer =
        SvidIssuer.of(
            ca, new SvidPolicy(ttl, max(ttl, Duration.ofHours(24)), backdate), Clock.systemUTC());
    WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), Clock.systemUTC());
    running.push(
        ClusterCaServer.start(
            issuer, new InetSocketAddress(infra, ClusterSpec.CA_PORT), tokens.authenticator()));
    String rootsPem = Pem.encode(List.of(root.certificate()));
    roots = TrustBundleSet.of(TrustBundle.of(trustDomain, root.certificate()));
    // The gateway's own SVID, for xDS over mutual TLS, from this cluster's CA.
    ScheduledExecutorService identities =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, spec.name() + "-gateway-identity");
              thread.setDaemon(true);
              return thread;
            });
    running.push(identities::shutdownNow);
    gatewayIdentity =
        ControlPlaneTls.selfIssued(
            issuer,
            CallerIdentity.of(
                XdsConfigSource.GATEWAY_NAMESPACE, XdsConfigSource.GATEWAY_SERVICE_ACCOUNT),
            identities);
    running.push(gatewayIdentity::close);

    // The agent: the real Kubernetes code path against this cluster's API.
    Locality locality = Locality.of(spec.region(), spec.workloads().get(0).zone());
    ClusterInfo info =
        new ClusterInfo(
            ClusterName.of(spec.name()),
            spec.name(),
            locality,
            List.of(new GatewayAddress(infra, ClusterSpec.GATEWAY_PORT)),
            spec.trustDomain(),
            "lab",
            KeyIdentifiers.subject(ca.certificate()).orElse(""));
    KubernetesEvents events = new KubernetesEvents(kube, spec.name(), Clock.systemUTC());
    running.push(events);
    this.kube = kube;
    this.events = events;
    this.info = info;
    startAgent();
    running.push(this::stopAgent);

    // The east-west gateway: the one door other networks use.
    startGateway();
    running.push(() -> stopGateway(Duration.ofSeconds(1)));

    // The pods: each an app beside its sidecar on the pod's address.
    NioEventLoopGroup group = new NioEventLoopGroup(2);
    running.push(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
    for (int i = 0; i < spec.workloads().size(); i++) {
      ClusterSpec.Workload workload = spec.workloads().get(i);
      String address = spec.podAddress(i);
      String pod = spec.podName(i);
      CallerIdentity caller = CallerIdentity.of(ClusterSpec.NAMESPACE, workload.service());
      List<InboundPort> inbound =
          workload.serves()
              ? List.of(
                  new InboundPort(
                      new InetSocketAddress(address, ClusterSpec.SERVICE_PORT),
                      new InetSocketAddress(address, ClusterSpec.APP_PORT),
                      InboundPort.AppProtocol.HTTP,
                      InboundPort.TlsMode.STRICT))
              : List.of();
      SidecarBootstrap bootstrap =
          new SidecarBootstrap(
              new SidecarBootstrap.NodeIdentity(
                  pod + "." + ClusterSpec.NAMESPACE,
                  spec.name(),
                  spec.name(),
                  spec.region(),
                  workload.zone(),
                  ClusterSpec.NAMESPACE,
                  workload.service(),
                  Map.of("app", workload.service(), "version", workload.version())),
              spec.controllers(),
              Optional.of(
                  new SidecarBootstrap.Ca(
                      infra + ":" + ClusterSpec.CA_PORT,
                      () -> tokens.issue(caller, Duration.ofMinutes(10)),
                      () -> rootsPem,
                      ttl)),
              Optional.of(new InetSocketAddress(address, ClusterSpec.OUTBOUND_PORT)),
              Optional.of(new InetSocketAddress(address, ClusterSpec.ADMIN_PORT)),
              inbound,
              XdsClient.Protocol.STATE_OF_THE_WORLD,
              false,
              SidecarBootstrap.DEFAULT_PROTOCOL_DETECTION_TIMEOUT,
              SidecarBootstrap.Interception.NONE,
              Optional.of(new InetSocketAddress(address, ClusterSpec.STATS_PORT)));
      Sidecar sidecar = Sidecar.start(bootstrap, group);
      running.push(sidecar);
      sidecars.add(sidecar);
      if (workload.serves()) {
        String podName = pod;
        AppSlot slot =
            new AppSlot(
                () -> {
                  try {
                    return new DemoApp(
                        new InetSocketAddress(address, ClusterSpec.APP_PORT),
                        workload.service(),
                        workload.version(),
                        spec.name(),
                        workload.zone(),
                        podName,
                        workload.calls(),
                        new InetSocketAddress(address, ClusterSpec.OUTBOUND_PORT));
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        apps.computeIfAbsent(workload.service(), s -> new java.util.ArrayList<>()).add(slot);
        running.push(slot);
      }
    }
    running.push(
        LabControl.start(new InetSocketAddress(infra, CONTROL_PORT), spec.controlToken(), this));
    statusWriter.scheduleWithFixedDelay(this::writeStatus, 0, 500, TimeUnit.MILLISECONDS);
    running.push(statusWriter::shutdownNow);
  }

  /**
   * Stops (as a crash would) or starts every pod application of {@code service} in this cluster;
   * the sidecars stay, so callers see connection failures and their outlier detection reacts.
   */
  synchronized void apps(String service, boolean run) {
    List<AppSlot> slots = apps.get(service);
    if (slots == null) {
      throw new IllegalArgumentException(
          "service: '" + service + "' (expected: one of " + apps.keySet() + ")");
    }
    for (AppSlot slot : slots) {
      if (run) {
        slot.start();
      } else {
        slot.stop();
      }
    }
  }

  /** Starts (or restarts) the agent against this cluster's API. */
  synchronized void startAgent() {
    if (agent != null) {
      return;
    }
    Locality locality = info.locality();
    agent =
        ClusterAgent.builder(info, spec.controllers())
            .token(spec.agentToken())
            .controllerRoots(roots)
            .source(
                executor ->
                    new KubernetesEndpointSource(
                        kube,
                        info.name(),
                        locality,
                        executor,
                        System::nanoTime,
                        new KubernetesEndpointSource.Settings(
                            Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(60)),
                        events))
            // The lab's API server keeps ServiceImports as a real one would (MCS import side).
            .serviceImports(kube)
            .start();
  }

  /** Stops the agent as a crash would: its stream to the controller just ends. */
  synchronized void stopAgent() {
    if (agent != null) {
      agent.close();
      agent = null;
    }
  }

  synchronized void startGateway() {
    if (gateway != null) {
      return;
    }
    String infra = spec.infraAddress();
    gateway =
        EastWestGateway.builder(
                XdsConfigSource.connectTls(
                    spec.controllers(),
                    XdsConfigSource.gatewayNode(
                        "gateway." + spec.name(),
                        spec.name(),
                        spec.name(),
                        spec.region(),
                        info.locality().zone()),
                    gatewayIdentity::current,
                    () -> roots))
            .listen(new InetSocketAddress(infra, ClusterSpec.GATEWAY_PORT))
            .admin(new InetSocketAddress(infra, ClusterSpec.GATEWAY_ADMIN_PORT))
            .drainTimeout(Duration.ofSeconds(1))
            .start();
  }

  /** Stops the gateway; with a zero drain, open streams are cut as a crash would cut them. */
  synchronized void stopGateway(Duration drain) {
    if (gateway != null) {
      try {
        gateway.drain(drain).get(drain.toMillis() + 5_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.debug("gateway drain: {}", e.toString());
      }
      gateway.close();
      gateway = null;
    }
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /** Nodes per zone, the demo namespace (exported), its services, pods and EndpointSlices. */
  private void createObjects(KubernetesClient kube) {
    Set<String> zones = new LinkedHashSet<>();
    spec.workloads().forEach(w -> zones.add(w.zone()));
    for (String zone : zones) {
      kube.nodes()
          .resource(
              new NodeBuilder()
                  .withNewMetadata()
                  .withName(nodeName(zone))
                  .withLabels(
                      Map.of(
                          "topology.kubernetes.io/region",
                          spec.region(),
                          "topology.kubernetes.io/zone",
                          zone))
                  .endMetadata()
                  .build())
          .create();
    }
    kube.namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(ClusterSpec.NAMESPACE)
                .withAnnotations(Map.of("fedmesh.dev/export", "true"))
                .endMetadata()
                .build())
        .create();
    for (int i = 0; i < spec.workloads().size(); i++) {
      ClusterSpec.Workload workload = spec.workloads().get(i);
      Pod pod =
          new PodBuilder()
              .withNewMetadata()
              .withNamespace(ClusterSpec.NAMESPACE)
              .withName(spec.podName(i))
              .withLabels(Map.of("app", workload.service(), "version", workload.version()))
              .endMetadata()
              .withNewSpec()
              .withServiceAccountName(workload.service())
              .withNodeName(nodeName(workload.zone()))
              .addNewContainer()
              .withName("app")
              .withImage("fedmesh/demo:" + workload.version())
              .endContainer()
              .endSpec()
              .withNewStatus()
              .withPhase("Running")
              .withPodIP(spec.podAddress(i))
              .endStatus()
              .build();
      pods.add(kube.pods().resource(pod).create());
    }
    Set<String> services = new LinkedHashSet<>();
    spec.workloads().stream()
        .filter(ClusterSpec.Workload::serves)
        .forEach(w -> services.add(w.service()));
    for (String service : services) {
      kube.services()
          .resource(
              new ServiceBuilder()
                  .withNewMetadata()
                  .withNamespace(ClusterSpec.NAMESPACE)
                  .withName(service)
                  .endMetadata()
                  .withNewSpec()
                  .withSelector(Map.of("app", service))
                  .addNewPort()
                  .withName("http")
                  .withAppProtocol("http")
                  .withPort(ClusterSpec.SERVICE_PORT)
                  .withProtocol("TCP")
                  .endPort()
                  .endSpec()
                  .build())
          .create();
      List<Endpoint> endpoints = new ArrayList<>();
      for (Pod pod : pods) {
        if (!service.equals(pod.getMetadata().getLabels().get("app"))) {
          continue;
        }
        endpoints.add(
            new EndpointBuilder()
                .withAddresses(pod.getStatus().getPodIP())
                .withNodeName(pod.getSpec().getNodeName())
                .withNewTargetRef()
                .withKind("Pod")
                .withNamespace(ClusterSpec.NAMESPACE)
                .withName(pod.getMetadata().getName())
                .endTargetRef()
                .withNewConditions()
                .withReady(true)
                .withServing(true)
                .withTerminating(false)
                .endConditions()
                .build());
      }
      kube.resources(io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice.class)
          .resource(
              new EndpointSliceBuilder()
                  .withNewMetadata()
                  .withNamespace(ClusterSpec.NAMESPACE)
                  .withName(service + "-" + spec.name())
                  .withLabels(Map.of("kubernetes.io/service-name", service))
                  .endMetadata()
                  .withAddressType("IPv4")
                  .addNewPort()
                  .withName("http")
                  .withAppProtocol("http")
                  .withPort(ClusterSpec.SERVICE_PORT)
                  .withProtocol("TCP")
                  .endPort()
                  .withEndpoints(endpoints)
                  .build())
          .create();
    }
  }

  private static String nodeName(String zone) {
    return "node-" + zone;
  }

  /** What {@code fedmesh lab status} shows of this cluster, rewritten twice a second. */
  private void writeStatus() {
    try {
      ObjectNode status = JSON.createObjectNode();
      status.put("cluster", spec.name());
      status.put("pid", ProcessHandle.current().pid());
      status.put("kubernetesApi", "http://" + spec.infraAddress() + ":" + api.getPort());
      status.put("ca", spec.infraAddress() + ":" + ClusterSpec.CA_PORT);
      status.put("gateway", spec.infraAddress() + ":" + ClusterSpec.GATEWAY_PORT);
      status.put("gatewayAdmin", spec.infraAddress() + ":" + ClusterSpec.GATEWAY_ADMIN_PORT);
      status.put("control", "http://" + spec.infraAddress() + ":" + CONTROL_PORT);
      EastWestGateway currentGateway = gateway;
      ClusterAgent currentAgent = agent;
      status.put("gatewayRunning", currentGateway != null);
      status.put("gatewayReady", currentGateway != null && currentGateway.isReady());
      status.put("agentRunning", currentAgent != null);
      status.put("agentConnected", currentAgent != null && currentAgent.status().connected());
      ArrayNode proxies = status.putArray("proxies");
      boolean allReady = true;
      for (int i = 0; i < sidecars.size(); i++) {
        Sidecar sidecar = sidecars.get(i);
        ClusterSpec.Workload workload = spec.workloads().get(i);
        ObjectNode proxy = proxies.addObject();
        proxy.put("pod", spec.podName(i));
        proxy.put("workload", workload.service() + "/" + workload.version());
        proxy.put("zone", workload.zone());
        proxy.put("outbound", spec.podAddress(i) + ":" + ClusterSpec.OUTBOUND_PORT);
        proxy.put("admin", spec.podAddress(i) + ":" + ClusterSpec.ADMIN_PORT);
        proxy.put(
            "metrics", spec.podAddress(i) + ":" + ClusterSpec.ADMIN_PORT + "/stats/prometheus");
        proxy.put("xdsConnected", sidecar.xdsConnected());
        sidecar
            .certificates()
            .ifPresent(
                certificates -> {
                  proxy.put("certificatesIssued", certificates.issued());
                  certificates
                      .current()
                      .ifPresent(
                          c -> proxy.put("certificateExpires", c.svid().notAfter().toString()));
                });
        proxy.put("ready", sidecar.isReady());
        ArrayNode reachable = proxy.putArray("reachableHosts");
        sidecar.reachableHosts().forEach(reachable::add);
        sidecar.notReadyReason().ifPresent(reason -> proxy.put("notReady", reason));
        if (!sidecar.lastXdsError().isEmpty()) {
          proxy.put("lastNack", sidecar.lastXdsError());
        }
        allReady &= sidecar.isReady();
      }
      status.put("ready", allReady && currentGateway != null && currentGateway.isReady());
      Path dir = Path.of(spec.stateDir());
      Files.createDirectories(dir);
      Path temp = dir.resolve("status.json.tmp");
      JSON.writerWithDefaultPrettyPrinter().writeValue(temp.toFile(), status);
      Files.move(
          temp,
          dir.resolve("status.json"),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (Exception e) {
      log.debug("status not written: {}", e.toString());
    }
  }

  @Override
  public void close() {
    while (!running.isEmpty()) {
      try {
        running.pop().close();
      } catch (Exception e) {
        log.debug("while stopping: {}", e.toString());
      }
    }
  }
}
