package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.model.ClusterName;
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
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The injector's own iptables rules, applied verbatim in network namespaces, make two unmodified
 * applications talk through their sidecars with mutual TLS: the whole per-pod data plane, as on a
 * Kubernetes node, in both interception modes.
 *
 * <p>Each mode gets two "pods", network namespaces joined by a veth pair: {@code client}
 * (198.18.0.1) and {@code server} (198.18.0.2, an HTTP service on 8080 and a line protocol on 9000,
 * both STRICT). Each pod runs the init container's script as is, then its sidecar as a separate JVM
 * ({@code ProxyMain}) under uid/gid 1337 via {@code setpriv}, so the rules' owner match is what
 * keeps the sidecar's own connections out of the capture (in TPROXY mode with the {@code NET_ADMIN}
 * capability its transparent listener needs, as the injected container gets). The applications are
 * plain JVMs ({@link PodApps}) with no proxy settings; the client finds the service's address in a
 * hosts file, as a pod would through DNS.
 *
 * <p>The scripts capture DNS too (port 53 to the sidecar's DNS port, {@value
 * SidecarTemplate#DNS_PORT}); the sidecars here do not answer DNS, which the hosts file makes
 * unnecessary. A third namespace per mode, a "pod" without a sidecar ({@link #dnsPods}), holds
 * stand-ins for the sidecar's DNS listener (on 127.0.0.1:{@value SidecarTemplate#DNS_PORT}) and for
 * a resolver on loopback (127.0.0.1:53), under the same script, so that where each query lands
 * shows what the rules capture.
 *
 * <p>The test's CA and xDS server run in this JVM and reach the sidecars through a management veth
 * per namespace (the sidecars' own traffic, never captured). Everything stays inside the test's
 * namespaces and the 198.18.0.0/15 benchmarking range; namespaces, veths, processes and files are
 * removed in {@link #tearDown()} even when a test fails. Runs only as root (CI does).
 */
class TransparentInterceptionIT {
  private static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");
  private static final String CLIENT_IP = "198.18.0.1";
  private static final String SERVER_IP = "198.18.0.2";
  private static final String SERVICE = "echo.shop.svc.cluster.local";
  private static final String HTTP_CLUSTER = "outbound|8080||" + SERVICE;
  private static final String TCP_CLUSTER = "outbound|9000||" + SERVICE;
  private static final String CLIENT_ID = "spiffe://fedmesh.local/ns/shop/sa/client";
  private static final String SERVER_ID = "spiffe://fedmesh.local/ns/shop/sa/echo";
  private static final int PROXY_UID = 1337;
  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  /** The two interception modes; the injector's enum is what the scripts are made from. */
  private static final Map<SidecarTemplate.InterceptionMode, Pods> pods =
      new EnumMap<>(SidecarTemplate.InterceptionMode.class);

  private static final List<ProcessHandle> processes = new ArrayList<>();
  private static final Map<String, ProcessHandle> byName = new java.util.HashMap<>();
  private static final List<String> namespaces = new ArrayList<>();
  private static final String suffix =
      HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 4);
  private static Path work;

  /** Kept after the run (in the module's target directory) for a failure's post-mortem. */
  private static final Path LOGS = Path.of("target", "transparent-interception-it");

  private static String classPath;
  private static Server ca;
  private static Server xds;
  private static SimpleCache<String> cache;
  private static final String SIDECARS = "sidecars";

  /** A server outside the mesh for each client pod, on its management link's far end. */
  private static final Map<String, Outside> outside = new java.util.HashMap<>();

  private static SvidRotator caIdentity;
  private static ScheduledExecutorService scheduler;

  /** Per mode, the namespace of a pod with the DNS stand-ins and no sidecar. */
  private static final Map<SidecarTemplate.InterceptionMode, String> dnsPods =
      new EnumMap<>(SidecarTemplate.InterceptionMode.class);

  /** A resolver address outside the pod, as a cluster's DNS service is (no one answers there). */
  private static final String RESOLVER_IP = "198.18.64.53";

  /** One mode's pair of pods: namespace names and where their files and logs are. */
  private record Pods(String client, String server, Path dir) {}

  @BeforeAll
  static void setUp() throws Exception {
    long uid = new com.sun.security.auth.module.UnixSystem().getUid();
    Assumptions.assumeTrue(
        uid == 0,
        "TransparentInterceptionIT needs root to create network namespaces and apply iptables"
            + " rules in them (uid here: "
            + uid
            + "); CI runs it as root");
    work = Files.createTempDirectory("fedmesh-intercept-");
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    classPath = readableClassPath(work.resolve("lib"));

    // Namespaces and links first: the CA and xDS server listen on the management links.
    List<InetSocketAddress> management = new ArrayList<>();
    int link = 0;
    for (SidecarTemplate.InterceptionMode mode : SidecarTemplate.InterceptionMode.values()) {
      String tag = mode.name().substring(0, 1).toLowerCase();
      Pods pair =
          new Pods("fm" + tag + "c" + suffix, "fm" + tag + "s" + suffix, work.resolve(mode.name()));
      Files.createDirectories(pair.dir());
      Files.setPosixFilePermissions(pair.dir(), PosixFilePermissions.fromString("rwxr-xr-x"));
      for (String ns : List.of(pair.client(), pair.server())) {
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        management.add(managementLink(ns, link++));
      }
      String clientEnd = "vc" + tag + suffix;
      String serverEnd = "vs" + tag + suffix;
      sh(
          "ip",
          "link",
          "add",
          clientEnd,
          "netns",
          pair.client(),
          "type",
          "veth",
          "peer",
          "name",
          serverEnd,
          "netns",
          pair.server());
      sh("ip", "-n", pair.client(), "addr", "add", CLIENT_IP + "/24", "dev", clientEnd);
      sh("ip", "-n", pair.server(), "addr", "add", SERVER_IP + "/24", "dev", serverEnd);
      sh("ip", "-n", pair.client(), "link", "set", clientEnd, "up");
      sh("ip", "-n", pair.server(), "link", "set", serverEnd, "up");
      // The init container's script, exactly as the injector writes it.
      String script = SidecarTemplate.redirectionScript(PROXY_UID, mode, true);
      sh("ip", "netns", "exec", pair.client(), "sh", "-c", script);
      sh("ip", "netns", "exec", pair.server(), "sh", "-c", script);
      pods.put(mode, pair);
    }

    // Appended after the pods' namespaces: their management links are found by index.
    for (SidecarTemplate.InterceptionMode mode : SidecarTemplate.InterceptionMode.values()) {
      String tag = mode.name().substring(0, 1).toLowerCase();
      String ns = "fm" + tag + "d" + suffix;
      sh("ip", "netns", "add", ns);
      namespaces.add(ns);
      sh("ip", "-n", ns, "link", "set", "lo", "up");
      // The pod's own network, as eth0 would be: a route to the resolver's address.
      String podEnd = "vd" + tag + suffix;
      String farEnd = "ve" + tag + suffix;
      sh("ip", "-n", ns, "link", "add", podEnd, "type", "veth", "peer", "name", farEnd);
      sh("ip", "-n", ns, "addr", "add", "198.18.64.1/24", "dev", podEnd);
      sh("ip", "-n", ns, "link", "set", podEnd, "up");
      sh("ip", "-n", ns, "link", "set", farEnd, "up");
      sh(
          "ip",
          "netns",
          "exec",
          ns,
          "sh",
          "-c",
          SidecarTemplate.redirectionScript(PROXY_UID, mode, true));
      start(ns + "-dns", work, netns(ns, java(PodApps.class, "dns")));
      dnsPods.put(mode, ns);
    }

    startControlPlane(management);
    for (Pods pair : pods.values()) {
      outside.put(
          pair.client(),
          Outside.start(management.get(namespaces.indexOf(pair.client())).getHostString()));
    }
    Path hosts = work.resolve("hosts");
    Files.writeString(hosts, SERVER_IP + " " + SERVICE + "\n");
    for (Map.Entry<SidecarTemplate.InterceptionMode, Pods> entry : pods.entrySet()) {
      SidecarTemplate.InterceptionMode mode = entry.getKey();
      Pods pair = entry.getValue();
      startSidecar(mode, pair, pair.client(), "client", management);
      startSidecar(mode, pair, pair.server(), "echo", management);
      start(
          pair.server() + "-app", pair.dir(), netns(pair.server(), java(PodApps.class, "server")));
    }
    for (Pods pair : pods.values()) {
      for (String ns : List.of(pair.client(), pair.server())) {
        try {
          await("sidecar in " + ns + " ready (certificate, outbound listener and routes)")
              .failFast(
                  "the sidecar in " + ns + " exited", () -> !byName.get(ns + "-sidecar").isAlive())
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofMillis(200))
              .until(
                  () ->
                      admin(ns, "/ready").contains("LIVE")
                          && admin(ns, "/config_dump").contains("\"virtualOutbound\""));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
          throw new AssertionError(
              "sidecar in "
                  + ns
                  + " not ready: "
                  + admin(ns, "/ready")
                  + "\n"
                  + tail(ns + "-sidecar"),
              e);
        }
      }
      Path appLog = LOGS.resolve(pair.server() + "-app.log");
      await("server app in " + pair.server() + " listening")
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(appLog) && Files.readString(appLog).contains("pod app ready"));
    }
    for (String ns : dnsPods.values()) {
      Path dnsLog = LOGS.resolve(ns + "-dns.log");
      await("DNS stand-ins in " + ns + " listening")
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  Files.exists(dnsLog) && Files.readString(dnsLog).contains("dns stand-ins ready"));
    }
  }

  @AfterAll
  static void tearDown() throws Exception {
    for (ProcessHandle process : processes) {
      ProcessControl.stop(process, Duration.ofSeconds(5));
    }
    for (String ns : namespaces) {
      // Deleting a namespace deletes its veth ends, and so the pairs.
      run(List.of("ip", "netns", "del", ns), Duration.ofSeconds(10));
    }
    outside.values().forEach(Outside::close);
    if (xds != null) {
      xds.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
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
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void httpFromAnUnmodifiedClientArrivesOverMutualTlsWithTheClientsIdentity(
      SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);

    Result result =
        client(pair.client(), false, "http", "http://" + SERVICE + ":8080/hello?mode=" + mode);

    assertThat(result.exit()).as(result.output()).isZero();
    assertThat(result.output())
        .contains("status=200")
        .contains("path=/hello?mode=" + mode)
        .as("the server's sidecar passes on the identity the client's sidecar proved")
        .contains("xfcc=URI=" + CLIENT_ID)
        .as("the application is reached by its own sidecar, over loopback")
        .contains("from=127.0.0.1");
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void aRawTcpProtocolGoesThroughBothSidecarsToTheServer(SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);
    double tunnelled = stat(pair.client(), "outbound", "tcp_proxy");

    Result result = client(pair.client(), false, "tcp", SERVER_IP, "9000", "ping-" + mode);

    assertThat(result.exit()).as(result.output()).isZero();
    assertThat(result.output()).contains("echo:ping-" + mode);
    // Port 9000 is STRICT on the server: the line got there, so it came over mutual TLS.
    assertThat(stat(pair.client(), "outbound", "tcp_proxy")).isEqualTo(tunnelled + 1);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void strictRefusesAPlaintextCallerThatGoesAroundItsOwnSidecar(
      SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);
    double refused = counter(pair.server(), "fedmesh_downstream_rejected_total");

    // As uid 1337 the caller's connections skip its pod's capture, as the sidecar's own do: it
    // reaches the server's pod in plaintext, where the capture still sends it to the sidecar.
    Result http = client(pair.client(), true, "http", "http://" + SERVER_IP + ":8080/");
    Result tcp = client(pair.client(), true, "tcp", SERVER_IP, "9000", "plain");

    assertThat(http.exit()).as(http.output()).isEqualTo(1);
    assertThat(http.output()).startsWith("FAILED").doesNotContain("status=");
    assertThat(tcp.exit()).as(tcp.output()).isEqualTo(1);
    assertThat(tcp.output()).doesNotContain("echo:");
    // (The JDK's client tries an idempotent GET a second time when the connection closes.)
    assertThat(counter(pair.server(), "fedmesh_downstream_rejected_total"))
        .isGreaterThanOrEqualTo(refused + 2);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void theSidecarsOwnUpstreamConnectionsAreNotCapturedAgain(SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);
    double http = stat(pair.client(), "outbound", "http");
    double tcp = stat(pair.client(), "outbound", "tcp_proxy");
    double passthrough = stat(pair.client(), "outbound", "passthrough");
    double clientInbound = stat(pair.client(), "inbound", "inbound");
    double serverInbound = stat(pair.server(), "inbound", "inbound");

    assertThat(client(pair.client(), false, "http", "http://" + SERVICE + ":8080/once").exit())
        .isZero();
    assertThat(client(pair.client(), false, "tcp", SERVER_IP, "9000", "once").exit()).isZero();

    // One application connection each, one capture each: a sidecar connection caught by its own
    // pod's rules would come back to 15001 as another outbound connection (or loop for ever).
    assertThat(stat(pair.client(), "outbound", "http")).isEqualTo(http + 1);
    assertThat(stat(pair.client(), "outbound", "tcp_proxy")).isEqualTo(tcp + 1);
    assertThat(stat(pair.client(), "outbound", "passthrough")).isEqualTo(passthrough);
    assertThat(stat(pair.client(), "inbound", "inbound")).isEqualTo(clientInbound);
    // The server's pod saw the tunnel's connection, and the HTTP request on a new connection or
    // on one the client's sidecar keeps alive from an earlier test.
    assertThat(stat(pair.server(), "inbound", "inbound"))
        .isBetween(serverInbound + 1, serverInbound + 2);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void aPortTheServersSidecarWasNotToldAboutIsRefused(SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);
    double unknown = stat(pair.server(), "inbound", "unknown_port");

    Result tcp = client(pair.client(), true, "tcp", SERVER_IP, "7070", "undeclared");

    assertThat(tcp.exit()).as(tcp.output()).isEqualTo(1);
    assertThat(stat(pair.server(), "inbound", "unknown_port")).isEqualTo(unknown + 1);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void anApplicationThatUsesTheSidecarAsItsHttpProxyStillCan(
      SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);

    // Straight to 15001 on loopback (not captured): an absolute-form request, as HTTP_PROXY does.
    Result result =
        run(
            List.of(
                "ip",
                "netns",
                "exec",
                pair.client(),
                "bash",
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/15001 && printf 'GET http://%s:8080/explicit"
                    + " HTTP/1.1\\r\\nHost: %s:8080\\r\\nConnection: close\\r\\n\\r\\n'"
                    + " \"$1\" \"$1\" >&3 && cat <&3",
                "proxy-client",
                SERVICE),
            Duration.ofSeconds(10));

    assertThat(result.output())
        .startsWith("HTTP/1.1 200")
        .contains("path=/explicit")
        .contains("xfcc=URI=" + CLIENT_ID);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void destinationsOutsideTheMeshPassThroughUnderAllowAny(SidecarTemplate.InterceptionMode mode) {
    Pods pair = pods.get(mode);
    Outside server = outside.get(pair.client());
    double passthrough = stat(pair.client(), "outbound", "passthrough");

    Result tcp = client(pair.client(), false, "tcp", server.host(), "" + server.tcpPort(), "hi");
    Result http =
        client(
            pair.client(),
            false,
            "http",
            "http://" + server.host() + ":" + server.httpPort() + "/x");

    assertThat(tcp.exit()).as(tcp.output()).isZero();
    assertThat(tcp.output()).isEqualTo("outside:hi");
    assertThat(stat(pair.client(), "outbound", "passthrough")).isEqualTo(passthrough + 1);
    // An HTTP host with no route goes to where the request was going, as plain HTTP.
    assertThat(http.exit()).as(http.output()).isZero();
    assertThat(http.output()).contains("status=200 outside path=/x");
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void theApplicationsDnsGoesToTheDnsPortAndTheProxysOwnQueriesDoNot(
      SidecarTemplate.InterceptionMode mode) {
    String ns = dnsPods.get(mode);

    // An application's queries, UDP and TCP, to the pod's resolver and to a cache on loopback.
    assertThat(query(ns, false, "udp", RESOLVER_IP, 53, "app-udp")).isEqualTo("listener:app-udp");
    assertThat(query(ns, false, "tcp", RESOLVER_IP, 53, "app-tcp")).isEqualTo("listener:app-tcp");
    assertThat(query(ns, false, "udp", "127.0.0.1", 53, "app-lo-udp"))
        .isEqualTo("listener:app-lo-udp");
    assertThat(query(ns, false, "tcp", "127.0.0.1", 53, "app-lo-tcp"))
        .isEqualTo("listener:app-lo-tcp");
    // The proxy's own (upstream) queries reach the resolver they were sent to.
    assertThat(query(ns, true, "udp", "127.0.0.1", 53, "proxy-udp"))
        .isEqualTo("resolver:proxy-udp");
    assertThat(query(ns, true, "tcp", "127.0.0.1", 53, "proxy-tcp"))
        .isEqualTo("resolver:proxy-tcp");
    // The DNS port itself, asked directly: not redirected again, and (TCP) not sent to 15001,
    // where nothing listens in this pod.
    assertThat(query(ns, false, "udp", "127.0.0.1", SidecarTemplate.DNS_PORT, "direct-udp"))
        .isEqualTo("listener:direct-udp");
    assertThat(query(ns, false, "tcp", "127.0.0.1", SidecarTemplate.DNS_PORT, "direct-tcp"))
        .isEqualTo("listener:direct-tcp");
  }

  /**
   * One line sent over UDP or TCP from {@code ns} (as the proxy's user when {@code asProxy}) with
   * bash's {@code /dev/udp} and {@code /dev/tcp}; the first line of the answer, or the error.
   */
  private static String query(
      String ns, boolean asProxy, String protocol, String host, int port, String line) {
    List<String> command = new ArrayList<>();
    if (asProxy) {
      command.addAll(asProxyUser(false));
    }
    command.addAll(
        List.of(
            "bash",
            "-c",
            "exec 3<>\"/dev/$1/$2/$3\" && printf '%s\\n' \"$4\" >&3 && timeout 5 head -n1 <&3",
            "query",
            protocol,
            host,
            String.valueOf(port),
            line));
    return run(netns(ns, command), Duration.ofSeconds(10)).output();
  }

  @org.junit.jupiter.api.Test
  void underRegistryOnlyOnlyTheMeshsServicesAreReachable() {
    Pods pair = pods.get(SidecarTemplate.InterceptionMode.REDIRECT);
    Outside server = outside.get(pair.client());
    int reachedBefore = server.requests();
    cache.setSnapshot(SIDECARS, snapshot(true, "2"));
    try {
      await("the client's sidecar took the REGISTRY_ONLY config")
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> admin(pair.client(), "/clusters").contains("BlackHoleCluster::"));

      Result tcp = client(pair.client(), false, "tcp", server.host(), "" + server.tcpPort(), "hi");
      Result http =
          client(
              pair.client(),
              false,
              "http",
              "http://" + server.host() + ":" + server.httpPort() + "/x");
      Result mesh = client(pair.client(), false, "http", "http://" + SERVICE + ":8080/in-mesh");

      assertThat(tcp.exit()).as(tcp.output()).isEqualTo(1);
      assertThat(tcp.output()).doesNotContain("outside:");
      assertThat(http.output()).startsWith("status=502").contains("REGISTRY_ONLY");
      assertThat(mesh.exit()).as(mesh.output()).isZero();
      assertThat(server.requests())
          .as("nothing reached the outside server")
          .isEqualTo(reachedBefore);
    } finally {
      cache.setSnapshot(SIDECARS, snapshot(false, "3"));
      await("the client's sidecar back on ALLOW_ANY")
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> admin(pair.client(), "/clusters").contains("PassthroughCluster::"));
    }
  }

  /**
   * A server outside the mesh (in this JVM, on the far end of a client pod's management link): an
   * HTTP server answering {@code outside path=...} and a line protocol answering {@code
   * outside:<line>}. It counts what reaches it.
   */
  private record Outside(
      String host,
      com.sun.net.httpserver.HttpServer http,
      java.net.ServerSocket tcp,
      java.util.concurrent.atomic.AtomicInteger hits) {
    static Outside start(String host) throws IOException {
      java.util.concurrent.atomic.AtomicInteger hits =
          new java.util.concurrent.atomic.AtomicInteger();
      com.sun.net.httpserver.HttpServer http =
          com.sun.net.httpserver.HttpServer.create(new InetSocketAddress(host, 0), 16);
      http.createContext(
          "/",
          exchange -> {
            hits.incrementAndGet();
            byte[] body =
                ("outside path=" + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (var out = exchange.getResponseBody()) {
              out.write(body);
            }
          });
      http.start();
      java.net.ServerSocket tcp = new java.net.ServerSocket();
      tcp.bind(new InetSocketAddress(host, 0));
      Thread acceptor =
          new Thread(
              () -> {
                while (!tcp.isClosed()) {
                  try (java.net.Socket socket = tcp.accept()) {
                    hits.incrementAndGet();
                    String line =
                        new java.io.BufferedReader(
                                new java.io.InputStreamReader(
                                    socket.getInputStream(), StandardCharsets.UTF_8))
                            .readLine();
                    socket
                        .getOutputStream()
                        .write(("outside:" + line + "\n").getBytes(StandardCharsets.UTF_8));
                  } catch (IOException e) {
                    // closed at the end of the test, or a client gone
                  }
                }
              },
              "outside-" + host);
      acceptor.setDaemon(true);
      acceptor.start();
      return new Outside(host, http, tcp, hits);
    }

    int httpPort() {
      return http.getAddress().getPort();
    }

    int tcpPort() {
      return tcp.getLocalPort();
    }

    int requests() {
      return hits.get();
    }

    void close() {
      http.stop(0);
      try {
        tcp.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }

  // ---- the pods' processes ----

  private static void startSidecar(
      SidecarTemplate.InterceptionMode mode,
      Pods pair,
      String ns,
      String serviceAccount,
      List<InetSocketAddress> management)
      throws IOException {
    int index = namespaces.indexOf(ns);
    InetSocketAddress caAddress =
        new InetSocketAddress(management.get(index).getHostString(), ca.getPort());
    InetSocketAddress xdsAddress =
        new InetSocketAddress(management.get(index).getHostString(), xds.getPort());
    Path token = pair.dir().resolve(ns + ".token");
    Files.writeString(
        token, tokens.issue(CallerIdentity.of("shop", serviceAccount), Duration.ofHours(1)));
    Path roots = pair.dir().resolve("roots.pem");
    Files.writeString(roots, Pem.encode(List.of(root.certificate())));
    Path bootstrap = pair.dir().resolve(ns + ".yaml");
    Files.writeString(
        bootstrap,
        String.join(
            "\n",
            "node: {id: "
                + ns
                + ", cluster: east, namespace: shop, serviceAccount: "
                + serviceAccount
                + "}",
            "controllers: ['" + xdsAddress.getHostString() + ":" + xdsAddress.getPort() + "']",
            "insecureControllers: true",
            "ca: {address: '"
                + caAddress.getHostString()
                + ":"
                + caAddress.getPort()
                + "', tokenFile: "
                + token.getFileName()
                + ", rootsFile: roots.pem}",
            "outbound: 127.0.0.1:15001",
            "admin: 127.0.0.1:15000",
            "interception: " + mode,
            "inbound:",
            "  - {listen: '0.0.0.0:8080', app: '127.0.0.1:8080', protocol: http, mode: STRICT}",
            "  - {listen: '0.0.0.0:9000', app: '127.0.0.1:9000', protocol: tcp, mode: STRICT}",
            ""));
    List<String> command =
        new ArrayList<>(asProxyUser(mode == SidecarTemplate.InterceptionMode.TPROXY));
    command.addAll(
        java(
            dev.fedmesh.proxy.sidecar.ProxyMain.class,
            "--bootstrap",
            bootstrap.toString(),
            "--threads",
            "1"));
    start(ns + "-sidecar", pair.dir(), netns(ns, command));
  }

  /** setpriv to the proxy's uid and gid, with NET_ADMIN when the listener must be transparent. */
  private static List<String> asProxyUser(boolean netAdmin) {
    List<String> command =
        new ArrayList<>(
            List.of("setpriv", "--reuid=" + PROXY_UID, "--regid=" + PROXY_UID, "--clear-groups"));
    if (netAdmin) {
      command.add("--inh-caps=+net_admin");
      command.add("--ambient-caps=+net_admin");
    }
    return command;
  }

  private static List<String> java(Class<?> main, String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djdk.net.hosts.file=" + work.resolve("hosts"),
                "-cp",
                classPath,
                main.getName()));
    command.addAll(List.of(args));
    return command;
  }

  private static List<String> netns(String ns, List<String> command) {
    return NetworkNamespaces.in(ns, command);
  }

  /** Runs the client application once in {@code ns}; as the proxy's user when {@code bypass}. */
  private static Result client(String ns, boolean bypass, String... args) {
    List<String> command = new ArrayList<>();
    if (bypass) {
      command.addAll(asProxyUser(false));
    }
    command.addAll(java(PodApps.class, args));
    return run(netns(ns, command), Duration.ofSeconds(30));
  }

  private static void start(String name, Path dir, List<String> command) throws IOException {
    Files.createDirectories(LOGS);
    Path log = LOGS.resolve(name + ".log");
    Files.deleteIfExists(log);
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    processes.add(process.toHandle());
    byName.put(name, process.toHandle());
  }

  private static String tail(String name) {
    return NetworkNamespaces.tail(LOGS.resolve(name + ".log"), 40);
  }

  private static Result run(List<String> command, Duration timeout) {
    return NetworkNamespaces.run(command, timeout);
  }

  private static void sh(String... command) {
    NetworkNamespaces.sh(command);
  }

  /** A GET to the sidecar's admin port inside {@code ns}. */
  private static String admin(String ns, String path) {
    return NetworkNamespaces.get(ns, 15000, path);
  }

  private static double stat(String ns, String direction, String action) {
    String metrics = admin(ns, "/stats/prometheus");
    for (String line : metrics.split("\n")) {
      if (line.startsWith("fedmesh_intercepted_connections_total{")
          && line.contains("direction=\"" + direction + "\"")
          && line.contains("action=\"" + action + "\"")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private static double counter(String ns, String name) {
    Matcher matcher =
        Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\S+)$")
            .matcher(admin(ns, "/stats/prometheus"));
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
  }

  /**
   * How the sidecar in {@code ns} reaches this JVM's CA and xDS server: the root side's address.
   */
  private static InetSocketAddress managementLink(String ns, int index) {
    return new InetSocketAddress(NetworkNamespaces.managementLink(ns, index, suffix, null), 0);
  }

  // ---- the control plane the sidecars use ----

  private static RootCa root;
  private static WorkloadTokens tokens;

  private static void startControlPlane(List<InetSocketAddress> addresses) throws IOException {
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
        listenOnAll(addresses)
            .sslContext(
                ControlPlaneTls.server(
                    caIdentity::current, SvidVerifier.of(bundles, Clock.systemUTC())))
            .addService(CaService.of(issuer, tokens.authenticator()))
            .build()
            .start();
    // One group for every sidecar: the xDS client names its node in a stream's first request
    // only, so the cache cannot tell sidecars apart by node on later ones.
    cache = new SimpleCache<>(node -> SIDECARS);
    cache.setSnapshot(SIDECARS, snapshot(false, "1"));
    xds =
        listenOnAll(addresses)
            .addService(new V3DiscoveryServer(cache).getAggregatedDiscoveryServiceImpl())
            .build()
            .start();
  }

  /** One port for every management address: the first bind picks it, the others take it. */
  private static NettyServerBuilder listenOnAll(List<InetSocketAddress> addresses) {
    int port = freePort(addresses.get(0).getHostString());
    NettyServerBuilder all =
        NettyServerBuilder.forAddress(
            new InetSocketAddress(addresses.get(0).getHostString(), port));
    for (InetSocketAddress address : addresses.subList(1, addresses.size())) {
      all.addListenAddress(new InetSocketAddress(address.getHostString(), port));
    }
    return all;
  }

  private static int freePort(String host) {
    try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
      socket.bind(new InetSocketAddress(host, 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * What the controller sends a sidecar here: the HTTP service routed by host, the TCP port by
   * destination (a {@code tcp_proxy} chain on the endpoint's address), both over mutual TLS to the
   * server's identity, and ALLOW_ANY's passthrough default chain.
   */
  private static Snapshot snapshot(boolean registryOnly, String version) {
    String fallback = registryOnly ? "BlackHoleCluster" : "PassthroughCluster";
    Listener outbound =
        Listener.newBuilder()
            .setName("virtualOutbound")
            .setAddress(address("0.0.0.0", 15001))
            .addFilterChains(
                FilterChain.newBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder()
                            .setDestinationPort(UInt32Value.of(9000))
                            .addPrefixRanges(
                                CidrRange.newBuilder()
                                    .setAddressPrefix(SERVER_IP)
                                    .setPrefixLen(UInt32Value.of(32))))
                    .addFilters(tcpProxy(TCP_CLUSTER)))
            .addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(
                        Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(
                                Any.pack(
                                    HttpConnectionManager.newBuilder()
                                        .setStatPrefix("outbound")
                                        .setRds(
                                            Rds.newBuilder()
                                                .setConfigSource(ADS)
                                                .setRouteConfigName("outbound"))
                                        .build()))))
            .setDefaultFilterChain(FilterChain.newBuilder().addFilters(tcpProxy(fallback)))
            .build();
    RouteConfiguration routes =
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName(SERVICE + ":8080")
                    .addDomains(SERVICE)
                    .addDomains(SERVICE + ":8080")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster(HTTP_CLUSTER))))
            .build();
    Cluster passthrough =
        registryOnly
            ? Cluster.newBuilder()
                .setName(fallback)
                .setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(Durations.fromSeconds(10))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(fallback))
                .build()
            : Cluster.newBuilder()
                .setName(fallback)
                .setType(Cluster.DiscoveryType.ORIGINAL_DST)
                .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
                .setConnectTimeout(Durations.fromSeconds(10))
                .build();
    return Snapshot.create(
        List.of(mesh(HTTP_CLUSTER, 8080), mesh(TCP_CLUSTER, 9000), passthrough),
        List.of(),
        List.of(outbound),
        List.of(routes),
        List.of(),
        version);
  }

  private static Cluster mesh(String name, int port) {
    UpstreamTlsContext tls =
        UpstreamTlsContext.newBuilder()
            .setSni("outbound_." + port + "_._." + SERVICE)
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(
                                CertificateValidationContext.newBuilder()
                                    .addMatchTypedSubjectAltNames(
                                        SubjectAltNameMatcher.newBuilder()
                                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                                            .setMatcher(
                                                StringMatcher.newBuilder().setExact(SERVER_ID))))))
            .build();
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(Durations.fromSeconds(2))
        .setLoadAssignment(
            ClusterLoadAssignment.newBuilder()
                .setClusterName(name)
                .addEndpoints(
                    LocalityLbEndpoints.newBuilder()
                        .addLbEndpoints(
                            LbEndpoint.newBuilder()
                                .setEndpoint(
                                    Endpoint.newBuilder().setAddress(address(SERVER_IP, port))))))
        .setTransportSocket(
            TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(tls)))
        .build();
  }

  private static Filter tcpProxy(String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }

  private static Address address(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  private static String readableClassPath(Path lib) throws IOException {
    return NetworkNamespaces.readableClassPath(lib);
  }
}
