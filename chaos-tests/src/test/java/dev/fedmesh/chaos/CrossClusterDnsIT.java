package dev.fedmesh.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.Endpoint;
import dev.fedmesh.federation.v1.EndpointPort;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.GatewayAddress;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.Locality;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ProtocolVersion;
import dev.fedmesh.federation.v1.ServicePort;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.testkit.NetworkNamespaces;
import dev.fedmesh.testkit.NetworkNamespaces.Result;
import dev.fedmesh.testkit.ProcessControl;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidRotator;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.ca.CaService;
import dev.fedmesh.trust.ca.WorkloadTokens;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A name that only another cluster serves, resolved and called by an unmodified application: the
 * whole path of cross-cluster naming on real network namespaces, with the injector's own iptables
 * rules (DNS capture on) and a real controller.
 *
 * <p>Three namespaces: the {@code east} pod (198.18.10.1; an application with no proxy settings and
 * its sidecar), the {@code west} gateway (198.18.10.2 towards east, 198.18.20.1 towards west: east
 * cannot reach west's pods any other way) and the {@code west} pod (198.18.20.2; {@code payments}
 * on port 80 → 8080, STRICT mTLS, its sidecar). The controller, etcd, the CA and the east pod's
 * "real" resolver ({@link UpstreamResolver}, which knows only {@code outside.example.test}) run in
 * this JVM, reached over a management veth per namespace. The clusters are announced over the
 * federation protocol as agents would: west exports {@code payments} (and keeps {@code ledger} to
 * itself); east has no Service of either.
 *
 * <p>The east application resolves {@code payments.shop.svc.cluster.local} with the system
 * resolver: its query goes to the sidecar (port 53 redirected), which answers with the mesh's
 * virtual address; the call to that address is captured, sent through west's gateway over mutual
 * TLS, and reaches the payments application with east's identity. The upstream resolver cannot
 * answer that name, so a resolution proves the sidecar answered it; the last test restarts the
 * sidecar without its DNS listener and watches the same resolution fail. Runs only as root (CI
 * does); everything is removed at the end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrossClusterDnsIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  private static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");
  private static final String PAYMENTS = "payments.shop.svc.cluster.local";
  private static final String EAST_POD_IP = "198.18.10.1";
  private static final String GATEWAY_EAST_IP = "198.18.10.2";
  private static final String GATEWAY_WEST_IP = "198.18.20.1";
  private static final String WEST_POD_IP = "198.18.20.2";
  private static final String OUTSIDE_NAME = "outside.example.test";
  private static final String OUTSIDE_ADDRESS = "192.0.2.55";
  private static final int PROXY_UID = 1337;
  private static final String FRONTEND_ID = "spiffe://fedmesh.local/ns/shop/sa/frontend";

  private static final Path LOGS = Path.of("target", "cross-cluster-dns-it");
  private static final String suffix =
      HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 4);
  private static final String EAST = "fmde" + suffix;
  private static final String GATEWAY = "fmdg" + suffix;
  private static final String WEST = "fmdw" + suffix;

  private static final List<String> namespaces = new ArrayList<>();
  private static final Map<String, ProcessHandle> processes = new HashMap<>();
  private static final Map<String, String> management = new HashMap<>();
  private static Path work;
  private static String classPath;
  private static GlobalController controller;
  private static Server ca;
  private static SvidRotator caIdentity;
  private static ScheduledExecutorService scheduler;
  private static WorkloadTokens tokens;
  private static RootCa root;
  private static ManagedChannel federation;
  private static final List<StreamObserver<AgentMessage>> agents = new ArrayList<>();
  private static UpstreamResolver resolver;
  private static String virtualAddress;

  @BeforeAll
  static void setUp() throws Exception {
    long uid = new com.sun.security.auth.module.UnixSystem().getUid();
    Assumptions.assumeTrue(
        uid == 0,
        "CrossClusterDnsIT needs root to create network namespaces and apply iptables rules in"
            + " them (uid here: "
            + uid
            + "); CI runs it as root");
    work = Files.createTempDirectory("fedmesh-dns-");
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    classPath = readableClassPath(work.resolve("lib"));
    Files.createDirectories(LOGS);

    for (String ns : List.of(EAST, GATEWAY, WEST)) {
      sh("ip", "netns", "add", ns);
      namespaces.add(ns);
      sh("ip", "-n", ns, "link", "set", "lo", "up");
      managementLink(ns, namespaces.size() - 1);
    }
    link(EAST, EAST_POD_IP, GATEWAY, GATEWAY_EAST_IP, "e");
    link(GATEWAY, GATEWAY_WEST_IP, WEST, WEST_POD_IP, "w");
    // A pod has a default route; the capture happens after routing, so the virtual address needs
    // one too (here: towards the gateway, which never sees those packets).
    sh("ip", "-n", EAST, "route", "add", "default", "via", GATEWAY_EAST_IP);
    // The east pod's resolv.conf, as kubelet writes it (ip netns exec mounts it on /etc).
    Path podEtc = Path.of("/etc/netns", EAST);
    Files.createDirectories(podEtc);
    Files.writeString(
        podEtc.resolve("resolv.conf"),
        "nameserver "
            + management.get(EAST)
            + "\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\n"
            + "options ndots:5 timeout:2 attempts:2\n");
    resolver = UpstreamResolver.start(management.get(EAST), Map.of(OUTSIDE_NAME, OUTSIDE_ADDRESS));

    startControlPlane();
    announceClusters();
    await("payments gets a virtual address")
        .atMost(Duration.ofSeconds(20))
        .until(() -> controller.mesh().virtualAddress(PAYMENTS).isPresent());
    virtualAddress = controller.mesh().virtualAddress(PAYMENTS).orElseThrow();

    // The pods: the injector's rules, verbatim, then the sidecars and the server application.
    sh("ip", "netns", "exec", EAST, "sh", "-c", InjectedRules.script(PROXY_UID, true));
    sh("ip", "netns", "exec", WEST, "sh", "-c", InjectedRules.script(PROXY_UID, true));
    start(WEST + "-app", netns(WEST, java(PodProgram.class, "server", "127.0.0.1:8080")));
    startSidecar(WEST, "west", "payments", false);
    startSidecar(EAST, "east", "frontend", true);
    start(
        GATEWAY + "-gateway",
        netns(
            GATEWAY,
            java(
                dev.fedmesh.gateway.GatewayMain.class,
                "--controller",
                controllerAddress(GATEWAY),
                "--insecure-controller",
                "--cluster",
                "west",
                "--network",
                "west",
                "--region",
                "us-west",
                "--zone",
                "us-west-a",
                "--listen",
                "0.0.0.0:15443",
                "--admin",
                "127.0.0.1:15000")));
    awaitReady(WEST, "/config_dump", "\"virtualOutbound\"");
    awaitReady(EAST, "/config_dump", "\"dns\"");
    awaitReady(GATEWAY, "/config_dump", PAYMENTS);
    await("west's payments application listening")
        .atMost(Duration.ofSeconds(30))
        .until(() -> log(WEST + "-app").contains("pod app ready"));
  }

  @AfterAll
  static void tearDown() throws Exception {
    for (ProcessHandle process : processes.values()) {
      ProcessControl.stop(process, Duration.ofSeconds(5));
    }
    for (String ns : namespaces) {
      run(List.of("ip", "netns", "del", ns), Duration.ofSeconds(10));
    }
    deleteTree(Path.of("/etc/netns", EAST));
    for (StreamObserver<AgentMessage> agent : agents) {
      agent.onCompleted();
    }
    if (federation != null) {
      federation.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (controller != null) {
      controller.close();
    }
    if (resolver != null) {
      resolver.close();
    }
    if (ca != null) {
      ca.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (caIdentity != null) {
      caIdentity.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (work != null) {
      deleteTree(work);
    }
  }

  @Test
  @Order(1)
  void anUnmodifiedClientResolvesAServiceOnlyAnotherClusterRunsAndCallsIt() {
    Result resolved = pod(EAST, "resolve", PAYMENTS);
    assertThat(resolved.output()).isEqualTo("addresses=" + virtualAddress);

    Result call = pod(EAST, "http", "http://" + PAYMENTS + "/pay?order=1");

    assertThat(call.exit()).as(call.output()).isZero();
    assertThat(call.output())
        .startsWith("status=200")
        .contains("path=/pay?order=1")
        .as("west's sidecar passes on the identity east's sidecar proved: mTLS end to end")
        .contains("xfcc=URI=" + FRONTEND_ID);
    assertThat(resolver.questions())
        .as("the pod's own resolver was never asked for the mesh name")
        .noneMatch(question -> question.startsWith(PAYMENTS + "/"));
  }

  @Test
  @Order(2)
  void theShortNameAndTheClustersetNameResolveToTheSameService() {
    assertThat(pod(EAST, "resolve", "payments").output()).isEqualTo("addresses=" + virtualAddress);
    assertThat(pod(EAST, "resolve", "payments.shop").output())
        .isEqualTo("addresses=" + virtualAddress);

    Result call = pod(EAST, "http", "http://payments.shop.svc.clusterset.local/mcs");

    assertThat(call.exit()).as(call.output()).isZero();
    assertThat(call.output()).startsWith("status=200").contains("path=/mcs");
  }

  @Test
  @Order(3)
  void otherNamesAreAnsweredByThePodsOwnResolverAndUnexportedServicesStayUnknown() {
    assertThat(pod(EAST, "resolve", OUTSIDE_NAME).output())
        .isEqualTo("addresses=" + OUTSIDE_ADDRESS);
    assertThat(resolver.questions()).contains(OUTSIDE_NAME + "/1");

    // ledger runs in west but is not exported: no mesh address, and upstream does not know it.
    Result ledger = pod(EAST, "resolve", "ledger.shop.svc.cluster.local");
    assertThat(ledger.exit()).as(ledger.output()).isEqualTo(1);
    assertThat(resolver.questions()).contains("ledger.shop.svc.cluster.local/1");
  }

  @Test
  @Order(4)
  void withoutTheSidecarsDnsListenerTheMeshNameNoLongerResolves() throws Exception {
    stopSidecar(EAST);
    startSidecar(EAST, "east", "frontend", false);
    awaitReady(EAST, "/config_dump", "\"virtualOutbound\"");
    try {
      Result resolved = pod(EAST, "resolve", PAYMENTS);
      assertThat(resolved.exit()).as(resolved.output()).isEqualTo(1);
    } finally {
      stopSidecar(EAST);
      startSidecar(EAST, "east", "frontend", true);
      awaitReady(EAST, "/config_dump", "\"dns\"");
    }
    assertThat(pod(EAST, "resolve", PAYMENTS).output()).isEqualTo("addresses=" + virtualAddress);
  }

  // ---- the control plane ----

  private static void startControlPlane() throws IOException {
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress(management.get(EAST), 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .build());
    root = RootCa.generate(RootCaSpec.of(DOMAIN), Clock.systemUTC());
    ClusterCa intermediate =
        root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), Clock.systemUTC());
    TrustBundleSet bundles = TrustBundleSet.of(intermediate.trustBundle());
    tokens = WorkloadTokens.of(WorkloadTokens.newKey(), Clock.systemUTC());
    scheduler = Executors.newSingleThreadScheduledExecutor();
    SvidIssuer issuer =
        SvidIssuer.of(
            intermediate,
            new SvidPolicy(Duration.ofHours(1), Duration.ofHours(24), Duration.ZERO),
            Clock.systemUTC());
    caIdentity =
        ControlPlaneTls.selfIssued(
            issuer, CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-ca"), scheduler);
    ca =
        NettyServerBuilder.forAddress(new InetSocketAddress(management.get(EAST), 0))
            .sslContext(
                ControlPlaneTls.server(
                    caIdentity::current, SvidVerifier.of(bundles, Clock.systemUTC())))
            .addService(CaService.of(issuer, tokens.authenticator()))
            .build()
            .start();
  }

  /** The controller's address as seen from {@code ns}: every namespace routes to it. */
  private static String controllerAddress(String ns) {
    return controller.xdsAddress().getHostString() + ":" + controller.xdsAddress().getPort();
  }

  /** East and west announce themselves and their services, as their agents would. */
  private static void announceClusters() {
    federation =
        NettyChannelBuilder.forAddress(
                controller.xdsAddress().getHostString(), controller.xdsAddress().getPort())
            .usePlaintext()
            .build();
    agent(hello("east", "us-east", List.of()), List.of());
    agent(
        hello(
            "west",
            "us-west",
            List.of(
                GatewayAddress.newBuilder().setAddress(GATEWAY_EAST_IP).setPort(15443).build())),
        List.of(service("payments", true, "10.96.20.10"), service("ledger", false, "10.96.20.11")));
  }

  private static void agent(AgentMessage.Builder hello, List<ServiceState> services) {
    StreamObserver<AgentMessage> stream =
        FederationGrpc.newStub(federation)
            .sync(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ControllerMessage message) {}

                  @Override
                  public void onError(Throwable error) {}

                  @Override
                  public void onCompleted() {}
                });
    long generation = 1;
    stream.onNext(hello.setGeneration(generation++).build());
    for (ServiceState service : services) {
      stream.onNext(
          AgentMessage.newBuilder().setGeneration(generation++).setService(service).build());
    }
    agents.add(stream);
  }

  private static AgentMessage.Builder hello(
      String cluster, String region, List<GatewayAddress> gateways) {
    return AgentMessage.newBuilder()
        .setHello(
            Hello.newBuilder()
                .setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setCluster(cluster)
                .setNetwork(cluster)
                .setLocality(Locality.newBuilder().setRegion(region).setZone(region + "-a"))
                .addAllGateways(gateways)
                .setTrustDomain(DOMAIN.name()));
  }

  /** A west service on port 80 (http) served by the west pod on 8080. */
  private static ServiceState service(String name, boolean exported, String clusterIp) {
    return ServiceState.newBuilder()
        .setNamespace("shop")
        .setName(name)
        .setExported(exported)
        .addClusterIps(clusterIp)
        .addPorts(ServicePort.newBuilder().setName("http").setPort(80).setProtocol(Protocol.HTTP))
        .addEndpoints(
            Endpoint.newBuilder()
                .setAddress(WEST_POD_IP)
                .addPorts(EndpointPort.newBuilder().setName("http").setPort(8080))
                .setLocality(Locality.newBuilder().setRegion("us-west").setZone("us-west-a"))
                .setServiceAccount("payments")
                .setReady(true)
                .setServing(true))
        .build();
  }

  // ---- the pods ----

  private static void startSidecar(String ns, String cluster, String account, boolean dnsCapture)
      throws IOException {
    Path dir = work.resolve(ns);
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path token = dir.resolve("token");
    Files.writeString(token, tokens.issue(CallerIdentity.of("shop", account), Duration.ofHours(1)));
    Files.writeString(dir.resolve("roots.pem"), Pem.encode(List.of(root.certificate())));
    Path bootstrap = dir.resolve("bootstrap.yaml");
    Files.writeString(
        bootstrap,
        String.join(
            "\n",
            "node: {id: "
                + ns
                + ", cluster: "
                + cluster
                + ", namespace: shop, serviceAccount: "
                + account
                + ", network: "
                + cluster
                + ", region: us-"
                + cluster
                + ", zone: us-"
                + cluster
                + "-a}",
            "controllers: ['" + controllerAddress(ns) + "']",
            "insecureControllers: true",
            "ca: {address: '"
                + management.get(EAST)
                + ":"
                + ca.getPort()
                + "', tokenFile: token, rootsFile: roots.pem}",
            "outbound: 127.0.0.1:15001",
            "admin: 127.0.0.1:15000",
            "interception: REDIRECT",
            "dnsCapture: " + dnsCapture,
            "inbound:",
            "  - {listen: '0.0.0.0:8080', app: '127.0.0.1:8080', protocol: http, mode: STRICT}",
            ""));
    List<String> command =
        new ArrayList<>(
            List.of("setpriv", "--reuid=" + PROXY_UID, "--regid=" + PROXY_UID, "--clear-groups"));
    command.addAll(
        java(
            dev.fedmesh.proxy.sidecar.ProxyMain.class,
            "--bootstrap",
            bootstrap.toString(),
            "--threads",
            "1"));
    start(ns + "-sidecar", netns(ns, command));
  }

  private static void stopSidecar(String ns) {
    ProcessHandle sidecar = processes.remove(ns + "-sidecar");
    ProcessControl.stop(sidecar, Duration.ofSeconds(5));
  }

  private static void awaitReady(String ns, String path, String needle) {
    String name = ns.equals(GATEWAY) ? GATEWAY + "-gateway" : ns + "-sidecar";
    try {
      await(name + " ready")
          .failFast(name + " exited", () -> !processes.get(name).isAlive())
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> admin(ns, "/ready").contains("200 OK") && admin(ns, path).contains(needle));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(name + " not ready: " + admin(ns, "/ready") + "\n" + log(name), e);
    }
  }

  /** Runs the unmodified application once in {@code ns}. */
  private static Result pod(String ns, String... args) {
    return run(netns(ns, java(PodProgram.class, args)), Duration.ofSeconds(40));
  }

  private static List<String> java(Class<?> main, String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                classPath,
                main.getName()));
    command.addAll(List.of(args));
    return command;
  }

  private static List<String> netns(String ns, List<String> command) {
    return NetworkNamespaces.in(ns, command);
  }

  private static void start(String name, List<String> command) throws IOException {
    Path log = LOGS.resolve(name + ".log");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    processes.put(name, process.toHandle());
  }

  private static String log(String name) {
    return NetworkNamespaces.tail(LOGS.resolve(name + ".log"), 40);
  }

  /** A GET to the admin port (15000) inside {@code ns}. */
  private static String admin(String ns, String path) {
    return NetworkNamespaces.get(ns, 15000, path);
  }

  /** Two namespaces joined by a veth pair, each end with its address on a /24. */
  private static void link(String a, String aIp, String b, String bIp, String tag) {
    String aEnd = "v" + tag + "a" + suffix;
    String bEnd = "v" + tag + "b" + suffix;
    sh("ip", "link", "add", aEnd, "netns", a, "type", "veth", "peer", "name", bEnd, "netns", b);
    sh("ip", "-n", a, "addr", "add", aIp + "/24", "dev", aEnd);
    sh("ip", "-n", b, "addr", "add", bIp + "/24", "dev", bEnd);
    sh("ip", "-n", a, "link", "set", aEnd, "up");
    sh("ip", "-n", b, "link", "set", bEnd, "up");
  }

  /**
   * A veth from the root namespace into {@code ns}, with a route from {@code ns} to the other
   * management links: how its processes reach this JVM's controller, CA and resolver.
   */
  private static void managementLink(String ns, int index) {
    management.put(ns, NetworkNamespaces.managementLink(ns, index, suffix, "198.18.128.0/24"));
  }

  private static Result run(List<String> command, Duration timeout) {
    return NetworkNamespaces.run(command, timeout);
  }

  private static void sh(String... command) {
    NetworkNamespaces.sh(command);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static String readableClassPath(Path lib) throws IOException {
    return NetworkNamespaces.readableClassPath(lib);
  }
}
