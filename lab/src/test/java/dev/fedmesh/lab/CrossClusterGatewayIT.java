package dev.fedmesh.lab;

import static java.util.stream.Collectors.toSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.gateway.EastWestGateway;
import dev.fedmesh.gateway.XdsConfigSource;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.proxy.sidecar.SidecarBootstrap;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #7's end-to-end proof: three clusters, each its own network on its own loopback range
 * ({@code east} 127.1.x.x in us-east, {@code west} 127.2.x.x in us-west, {@code central} 127.3.x.x
 * in eu-central), each with its own CA (one shared root), agent, east-west gateway and pods whose
 * sidecars the controller configures. {@code payments} runs in west and central and is exported;
 * {@code ledger} runs in west and is not. The caller is {@code frontend} in east, whose region
 * fails over to us-west, then eu-central.
 *
 * <p>West's gateway runs as an OS process of its own so that the last test can {@code kill -9} it;
 * the others run in this JVM. The tests share the mesh and run in order: the kill comes last.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrossClusterGatewayIT {
  static {
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private static final String TRUST_DOMAIN = "fedmesh.local";
  private static final String PAYMENTS = "payments.shop.svc.cluster.local:8080";
  private static final String LEDGER = "ledger.shop.svc.cluster.local:8080";
  private static final String PAYMENTS_CLUSTER = "outbound|8080||payments.shop.svc.cluster.local";
  private static final String PAYMENTS_SNI = "outbound_.8080_._.payments.shop.svc.cluster.local";
  private static final String LEDGER_SNI = "outbound_.8080_._.ledger.shop.svc.cluster.local";
  private static final String FRONTEND_XFCC = "URI=spiffe://fedmesh.local/ns/shop/sa/frontend";
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** A member cluster: its own network (named as the cluster), locality and loopback range. */
  private record Member(String name, String region, String zone, String range) {
    String address(int host) {
      return range + ".0." + host;
    }

    Locality locality() {
      return Locality.of(region, zone);
    }

    SidecarBootstrap.NodeIdentity node(String pod, String serviceAccount) {
      return new SidecarBootstrap.NodeIdentity(
          pod, name, name, region, zone, "shop", serviceAccount, Map.of("app", serviceAccount));
    }
  }

  private static final Member EAST = new Member("east", "us-east", "us-east-a", "127.1");
  private static final Member WEST = new Member("west", "us-west", "us-west-a", "127.2");
  private static final Member CENTRAL =
      new Member("central", "eu-central", "eu-central-a", "127.3");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();
  @TempDir static Path temp;

  private final Deque<AutoCloseable> resources = new ArrayDeque<>();
  private final RootCa root =
      RootCa.generate(RootCaSpec.of(TrustDomain.of(TRUST_DOMAIN)), Clock.systemUTC());
  private final String rootsPem = Pem.encode(List.of(root.certificate()));
  private List<String> controllers;
  private NioEventLoopGroup loops;
  private GatewayProcess westGateway;
  private EastWestGateway eastGateway;
  private EastWestGateway centralGateway;
  private MeshPod frontend;
  private MeshPod paymentsWest;
  private MeshPod ledgerWest;
  private MeshPod paymentsCentral;
  private HttpClient client;

  @BeforeAll
  void startThreeClusters() throws Exception {
    GlobalController controller =
        track(
            GlobalController.start(
                ControllerConfig.builder(
                        List.of(etcd.endpoints()),
                        new InetSocketAddress("127.0.0.1", 0),
                        new InetSocketAddress("127.0.0.1", 0))
                    .failover(
                        new FailoverOrder(Map.of("us-east", List.of("us-west", "eu-central"))))
                    .build()));
    controllers = List.of("127.0.0.1:" + controller.xdsAddress().getPort());
    // The child JVM starts while the rest is set up here.
    westGateway =
        track(
            GatewayProcess.start(
                temp.resolve("logs"),
                controllers.get(0),
                WEST.name(),
                WEST.region(),
                WEST.zone(),
                WEST.address(1)));
    eastGateway = track(inProcessGateway(EAST));
    centralGateway = track(inProcessGateway(CENTRAL));
    NioEventLoopGroup group = new NioEventLoopGroup(2);
    loops = group;
    resources.push(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());

    LoopbackCa eastCa = track(LoopbackCa.start(root, ClusterName.of("east"), EAST.address(2)));
    LoopbackCa westCa = track(LoopbackCa.start(root, ClusterName.of("west"), WEST.address(2)));
    LoopbackCa centralCa =
        track(LoopbackCa.start(root, ClusterName.of("central"), CENTRAL.address(2)));
    frontend = track(pod(EAST.node("frontend-east", "frontend"), EAST.address(10), true, eastCa));
    paymentsWest =
        track(pod(WEST.node("payments-west", "payments"), WEST.address(10), false, westCa));
    ledgerWest = track(pod(WEST.node("ledger-west", "ledger"), WEST.address(11), false, westCa));
    paymentsCentral =
        track(
            pod(
                CENTRAL.node("payments-central", "payments"),
                CENTRAL.address(10),
                false,
                centralCa));

    startAgent(EAST, eastGateway.address(), service("frontend", false, frontend));
    startAgent(
        WEST,
        westGateway.address(),
        service("payments", true, paymentsWest) + service("ledger", false, ledgerWest));
    startAgent(CENTRAL, centralGateway.address(), service("payments", true, paymentsCentral));

    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(frontend.sidecar().proxy().outboundAddress().orElseThrow()))
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    for (MeshPod pod : List.of(frontend, paymentsWest, ledgerWest, paymentsCentral)) {
      await(pod.name() + "'s sidecar ready")
          .atMost(WAIT)
          .until(() -> pod.sidecar().notReadyReason(), reason -> reason.isEmpty());
    }
    westGateway.awaitReady(Duration.ofSeconds(60));
    await("east's sidecar reaches payments through west's and central's gateways")
        .atMost(WAIT)
        .until(
            () -> endpoints(PAYMENTS_CLUSTER),
            Set.of(address(westGateway.address()), address(centralGateway.address()))::equals);
    await("payments in west answers a call from east")
        .atMost(WAIT)
        .ignoreExceptions()
        .until(() -> get(PAYMENTS).body(), "payments-west"::equals);
  }

  @AfterAll
  void stopEverything() throws Exception {
    while (!resources.isEmpty()) {
      resources.pop().close();
    }
  }

  @Test
  @Order(1)
  void aCallFromEastReachesWestOnlyThroughWestsGatewayAndCarriesTheCallersIdentity()
      throws Exception {
    assertThat(endpoints(PAYMENTS_CLUSTER))
        .as("east's sidecar knows west's pods only as west's gateway")
        .doesNotContain(address(paymentsWest.ip(), paymentsWest.inboundPort()))
        .contains(address(westGateway.address()));

    for (int i = 0; i < 5; i++) {
      long forwarded = westGateway.receivedBytes(PAYMENTS_SNI);
      HttpResponse<String> response = get(PAYMENTS);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("payments-west");
      await("west's gateway forwarded call " + i)
          .atMost(Duration.ofSeconds(5))
          .until(() -> westGateway.receivedBytes(PAYMENTS_SNI) > forwarded);
    }
    assertThat(westGateway.connections(PAYMENTS_SNI)).isPositive();
    assertThat(paymentsWest.clientCertificates())
        .as("x-forwarded-client-cert as west's payments app got it from its sidecar")
        .hasSizeGreaterThanOrEqualTo(6)
        .containsOnly(FRONTEND_XFCC);
    assertThat(centralGateway.metrics().connections(PAYMENTS_SNI))
        .as("us-west comes before eu-central for callers in us-east")
        .isZero();
    assertThat(paymentsCentral.requests()).isZero();
  }

  @Test
  @Order(2)
  void theDestinationSidecarRefusesAClientWithoutAMeshCertificateThatGetsThroughTheGateway()
      throws Exception {
    long passedOn = westGateway.connections(PAYMENTS_SNI);
    long refusedBySidecar = paymentsWest.sidecar().proxy().stats().rejectedCount();
    int appRequests = paymentsWest.requests();
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    // A certificate for frontend's very identity, from a CA the mesh's root never signed.
    ClusterCa rogue =
        RootCa.generate(RootCaSpec.of(TrustDomain.of(TRUST_DOMAIN)), Clock.systemUTC())
            .issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), Clock.systemUTC());
    SvidCredential forged =
        SvidCredential.of(
            SvidIssuer.of(rogue, SvidPolicy.of(), Clock.systemUTC())
                .issue(WorkloadCsr.create(keys), CallerIdentity.of("shop", "frontend")),
            keys.getPrivate());

    TlsProbe.Result tls12 =
        TlsProbe.tls(
            TlsProbe.withoutCertificate(),
            westGateway.address(),
            PAYMENTS_SNI,
            "TLSv1.2",
            PAYMENTS);
    TlsProbe.Result tls13 =
        TlsProbe.tls(
            TlsProbe.withoutCertificate(),
            westGateway.address(),
            PAYMENTS_SNI,
            "TLSv1.3",
            PAYMENTS);
    TlsProbe.Result forgedTls13 =
        TlsProbe.tls(
            TlsProbe.withCertificate(forged),
            westGateway.address(),
            PAYMENTS_SNI,
            "TLSv1.3",
            PAYMENTS);

    assertThat(tls12.handshakeCompleted()).as("TLS 1.2 handshake: %s", tls12).isFalse();
    assertThat(tls12.answered()).isFalse();
    // In TLS 1.3 the client's side of the handshake ends before the server has judged the
    // client's certificate: the refusal (an alert, then a close) comes where the answer would.
    assertThat(tls13.answered()).as("TLS 1.3 without a certificate: %s", tls13).isFalse();
    assertThat(forgedTls13.answered())
        .as("TLS 1.3 with a forged certificate: %s", forgedTls13)
        .isFalse();
    await("west's payments sidecar refused the three handshakes")
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> paymentsWest.sidecar().proxy().stats().rejectedCount(),
            count -> count >= refusedBySidecar + 3);
    assertThat(westGateway.connections(PAYMENTS_SNI))
        .as("the gateway passed them on: the server sidecar is what refused them")
        .isGreaterThanOrEqualTo(passedOn + 3);
    assertThat(paymentsWest.requests())
        .as("requests west's payments app got")
        .isEqualTo(appRequests);
  }

  @Test
  @Order(3)
  void theGatewayRefusesUnexportedAndMadeUpServerNamesAndPlaintext() throws Exception {
    long unknownSni = westGateway.refused("unknown_sni");
    long notTls = westGateway.refused("not_tls");

    for (String sni :
        List.of(
            LEDGER_SNI,
            "outbound_.8080_._.vault.shop.svc.cluster.local",
            "outbound_.9090_._.payments.shop.svc.cluster.local",
            "payments.shop.svc.cluster.local")) {
      TlsProbe.Result result =
          TlsProbe.tls(
              TlsProbe.withoutCertificate(), westGateway.address(), sni, "TLSv1.3", PAYMENTS);
      assertThat(result.handshakeCompleted()).as("%s: %s", sni, result).isFalse();
      assertThat(result.answered()).as("%s: %s", sni, result).isFalse();
    }
    TlsProbe.Result plaintext = TlsProbe.plaintext(westGateway.address(), PAYMENTS);
    assertThat(plaintext.answered()).as("plaintext: %s", plaintext).isFalse();

    await("west's gateway counted the refusals")
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(westGateway.refused("unknown_sni")).isEqualTo(unknownSni + 4);
              assertThat(westGateway.refused("not_tls")).isEqualTo(notTls + 1);
            });
    assertThat(westGateway.connections(LEDGER_SNI)).isZero();

    // Nor does east's own sidecar know a way to west's unexported ledger.
    assertThat(get(LEDGER).statusCode()).isEqualTo(503);
    assertThat(ledgerWest.requests()).isZero();
  }

  @Test
  @Order(4)
  void killingWestsGatewayMovesEastsCallsToCentralWithoutAFailedCall() throws Exception {
    long centralBefore = centralGateway.metrics().connections(PAYMENTS_SNI);
    long retriesBefore = frontend.sidecar().proxy().stats().retries(PAYMENTS_CLUSTER);
    List<CallLoop.Outcome> outcomes;
    long killedAt;
    UpstreamHost westGatewayHost = host(PAYMENTS_CLUSTER, westGateway.address());
    try (CallLoop loop =
        CallLoop.start(client, URI.create("http://" + PAYMENTS + "/"), 2, Duration.ofMillis(10))) {
      await("the calls land on west")
          .atMost(WAIT)
          .until(() -> loop.lastAnsweredBy(20, "payments-west"));
      killedAt = System.nanoTime();
      westGateway.kill();
      await("50 calls in a row answered by central")
          .atMost(WAIT)
          .until(() -> loop.lastAnsweredBy(50, "payments-central"));
      // Its ejection runs out after 10 s; it is tried again, under the same load, and ejected
      // again: the calls that find it dead are retried on central too.
      await("west's dead gateway ejected again once its first ejection ran out")
          .atMost(WAIT)
          .until(westGatewayHost::totalEjections, ejections -> ejections >= 2);
      loop.close();
      outcomes = loop.outcomes();
    }

    List<CallLoop.Outcome> failed = outcomes.stream().filter(o -> !o.ok()).toList();
    CallLoop.Outcome firstOnCentral =
        outcomes.stream()
            .filter(o -> o.endNanos() > killedAt && o.body().equals("payments-central"))
            .findFirst()
            .orElseThrow();
    long failoverMs = TimeUnit.NANOSECONDS.toMillis(firstOnCentral.endNanos() - killedAt);
    long afterKill = outcomes.stream().filter(o -> o.endNanos() > killedAt).count();
    System.out.printf(
        "failover_ms=%d, failed=%d/%d (%d calls after the kill; east's sidecar retried %d,"
            + " ejected west's gateway %d time(s))%n",
        failoverMs,
        failed.size(),
        outcomes.size(),
        afterKill,
        frontend.sidecar().proxy().stats().retries(PAYMENTS_CLUSTER) - retriesBefore,
        westGatewayHost.totalEjections());

    assertThat(failed).as("calls that failed").isEmpty();
    assertThat(westGatewayHost.totalEjections())
        .as("outlier detection ejected west's dead gateway")
        .isPositive();
    assertThat(centralGateway.metrics().connections(PAYMENTS_SNI)).isGreaterThan(centralBefore);
    assertThat(paymentsCentral.clientCertificates()).isNotEmpty().containsOnly(FRONTEND_XFCC);
  }

  private MeshPod pod(
      SidecarBootstrap.NodeIdentity node, String ip, boolean outbound, LoopbackCa ca)
      throws Exception {
    return MeshPod.start(node, ip, outbound, controllers, ca, rootsPem, loops);
  }

  private EastWestGateway inProcessGateway(Member member) {
    return EastWestGateway.builder(
            XdsConfigSource.connect(
                controllers,
                XdsConfigSource.gatewayNode(
                    "gateway-" + member.name(),
                    member.name(),
                    member.name(),
                    member.region(),
                    member.zone())))
        .listen(new InetSocketAddress(member.address(1), 0))
        .workerThreads(1)
        .drainTimeout(Duration.ZERO)
        .start();
  }

  private void startAgent(Member member, InetSocketAddress gateway, String services)
      throws Exception {
    Path file = temp.resolve(member.name() + "-endpoints.yaml");
    Files.writeString(file, "services:\n" + services);
    ClusterInfo info =
        new ClusterInfo(
            ClusterName.of(member.name()),
            member.name(),
            member.locality(),
            List.of(new GatewayAddress(gateway.getHostString(), gateway.getPort())),
            TRUST_DOMAIN,
            "test");
    track(
        ClusterAgent.start(
            info,
            controllers,
            executor ->
                new FileEndpointSource(
                    file, info.name(), info.locality(), executor, Duration.ofMillis(50))));
  }

  private static String service(String name, boolean exported, MeshPod pod) {
    return "  - name: "
        + name
        + "\n    namespace: shop\n    exported: "
        + exported
        + "\n    ports: [{name: http, port: 8080, protocol: http}]\n    endpoints:\n"
        + pod.endpointYaml(name);
  }

  private HttpResponse<String> get(String hostPort) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create("http://" + hostPort + "/"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The endpoints east's caller has for {@code cluster}, as {@code ip:port}. */
  private Set<String> endpoints(String cluster) {
    ClusterLoadAssignment assignment = frontend.sidecar().config().endpointsOf(cluster);
    if (assignment == null) {
      return Set.of();
    }
    return assignment.getEndpointsList().stream()
        .flatMap(locality -> locality.getLbEndpointsList().stream())
        .map(endpoint -> endpoint.getEndpoint().getAddress().getSocketAddress())
        .map(socket -> address(socket))
        .collect(toSet());
  }

  private UpstreamHost host(String cluster, InetSocketAddress address) {
    return frontend.sidecar().proxy().clusters().cluster(cluster).orElseThrow().hosts().stream()
        .filter(h -> address(h.address()).equals(address(address)))
        .findFirst()
        .orElseThrow();
  }

  private static String address(SocketAddress socket) {
    return address(socket.getAddress(), socket.getPortValue());
  }

  private static String address(InetSocketAddress socket) {
    return address(socket.getHostString(), socket.getPort());
  }

  private static String address(String ip, int port) {
    return ip + ":" + port;
  }

  private <T extends AutoCloseable> T track(T resource) {
    resources.push(resource);
    return resource;
  }
}
