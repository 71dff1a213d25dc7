package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.proxy.authz.Authorizer;
import dev.fedmesh.proxy.tls.WorkloadCertificates;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.testkit.PrometheusText;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Inbound policy as the controller sends it (a {@code virtualInbound} listener: filter chains per
 * port and transport, RBAC filters in them), enforced on real sockets: raw requests for the
 * encodings that bypassed other meshes' path rules, and callers that are sidecars with their own
 * certificates.
 */
class InboundPolicyTest {
  private static final String HOST = "payments.shop.svc.cluster.local:8080";
  private static final String SNI = "outbound_.8080_._.payments.shop.svc.cluster.local";
  private static final String CLUSTER = "outbound|8080||payments.shop.svc.cluster.local";
  private static final String FRONTEND = "spiffe://fedmesh.local/ns/shop/sa/frontend";

  private final ProxyFixture fixture = new ProxyFixture();
  private MeshPki pki;
  private Backend app;
  private HttpProxy server;
  private int port;
  private boolean routed;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
    if (pki != null) {
      pki.close();
    }
  }

  /** The server sidecar, PERMISSIVE by its bootstrap, in front of an HTTP application. */
  private void startServer(InboundPort.AppProtocol protocol, InetSocketAddress appAddress)
      throws Exception {
    pki = new MeshPki(Duration.ofHours(1));
    WorkloadCertificates certs = fixture.closeLater(pki.workload("shop", "payments"));
    await().atMost(Duration.ofSeconds(10)).until(() -> certs.current().isPresent());
    server =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .identity(certs.identity())
                .inbound(
                    new InboundPort(
                        new InetSocketAddress("127.0.0.1", 0),
                        appAddress,
                        protocol,
                        InboundPort.TlsMode.PERMISSIVE)));
    port = server.inboundAddresses().get(0).getPort();
  }

  private void startHttpServer() throws Exception {
    app = fixture.closeLater(new Backend("payments"));
    startServer(InboundPort.AppProtocol.HTTP, app.address());
  }

  /** A client sidecar with its own certificate, calling the server over mTLS. */
  private HttpClient sidecarFor(String serviceAccount) throws Exception {
    WorkloadCertificates certs = fixture.closeLater(pki.workload("shop", serviceAccount));
    await().atMost(Duration.ofSeconds(10)).until(() -> certs.current().isPresent());
    if (!routed) {
      fixture
          .addCluster(
              cluster(CLUSTER)
                  .setTransportSocket(
                      ProxyFixture.mtls(
                          SNI, StringMatcher.newBuilder().setPrefix("spiffe://").build()))
                  .build(),
              List.of(List.of(server.inboundAddresses().get(0))))
          .addHost(HOST, route("/", CLUSTER));
      routed = true;
    }
    HttpProxy client =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .identity(certs.identity())
                .outbound(new InetSocketAddress("127.0.0.1", 0)));
    client.apply(fixture.config());
    return HttpClient.newBuilder()
        .proxy(ProxySelector.of(client.outboundAddress().orElseThrow()))
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  private static int status(HttpClient client, String path) throws Exception {
    return client
        .send(
            HttpRequest.newBuilder(URI.create("http://" + HOST + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /**
   * Sends a request line exactly as written over plaintext; the status code, or -1 when the
   * connection is closed without a response.
   */
  private int rawStatus(String target) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET " + target + " HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int b;
      while ((b = in.read()) != -1 && b != '\n') {
        head.write(b);
      }
      String line = head.toString(StandardCharsets.ISO_8859_1);
      return line.startsWith("HTTP/1.1 ") ? Integer.parseInt(line.substring(9, 12)) : -1;
    } catch (java.net.SocketException e) {
      return -1; // reset by the proxy
    }
  }

  /** Sends a gRPC-shaped HTTP/1.1 POST; the grpc-status header of the answer. */
  private String rawGrpcStatus(String target) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(
              ("POST "
                      + target
                      + " HTTP/1.1\r\nHost: "
                      + HOST
                      + "\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n"
                      + "Connection: close\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
      String answer =
          new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      for (String line : answer.split("\r\n")) {
        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("grpc-status:")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
      return "none in: " + answer;
    }
  }

  // --- config as the controller would send it

  private static HttpFilter rbac(String name, RBAC.Action action, String policy, Policy rules) {
    var config =
        io.envoyproxy
            .envoy
            .extensions
            .filters
            .http
            .rbac
            .v3
            .RBAC
            .newBuilder()
            .setRules(RBAC.newBuilder().setAction(action).putPolicies(policy, rules))
            .build();
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  private static Policy denyPathPrefix(String prefix) {
    return Policy.newBuilder()
        .addPermissions(
            Permission.newBuilder()
                .setUrlPath(
                    PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix(prefix).setIgnoreCase(true))))
        .addPrincipals(Principal.newBuilder().setAny(true))
        .build();
  }

  private static Policy allowPrincipal(String spiffeId) {
    return Policy.newBuilder()
        .addPermissions(Permission.newBuilder().setAny(true))
        .addPrincipals(
            Principal.newBuilder()
                .setAuthenticated(
                    Principal.Authenticated.newBuilder()
                        .setPrincipalName(StringMatcher.newBuilder().setExact(spiffeId))))
        .build();
  }

  private static Filter httpManager(
      int port, HttpConnectionManager.PathWithEscapedSlashesAction slashes, List<HttpFilter> rbac) {
    HttpConnectionManager.Builder manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("inbound_0.0.0.0_" + port)
            .setRouteConfig(RouteConfiguration.newBuilder().setName("inbound|" + port + "||"))
            .setPathWithEscapedSlashesAction(slashes)
            .addAllHttpFilters(rbac)
            .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router"));
    return Filter.newBuilder()
        .setName("envoy.filters.network.http_connection_manager")
        .setTypedConfig(Any.pack(manager.build()))
        .build();
  }

  /** Chains for {@code port}: mTLS always, plaintext when {@code permissive}. */
  private static Listener inbound(int port, boolean permissive, List<Filter> filters) {
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(InboundChains.LISTENER)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15006)));
    listener.addFilterChains(
        FilterChain.newBuilder()
            .setName("mtls")
            .setFilterChainMatch(
                FilterChainMatch.newBuilder()
                    .setDestinationPort(UInt32Value.of(port))
                    .setTransportProtocol("tls"))
            .setTransportSocket(
                TransportSocket.newBuilder()
                    .setName("envoy.transport_sockets.tls")
                    .setTypedConfig(
                        Any.pack(
                            DownstreamTlsContext.newBuilder()
                                .setRequireClientCertificate(com.google.protobuf.BoolValue.of(true))
                                .build())))
            .addAllFilters(filters));
    if (permissive) {
      listener.addFilterChains(
          FilterChain.newBuilder()
              .setName("plaintext")
              .setFilterChainMatch(
                  FilterChainMatch.newBuilder()
                      .setDestinationPort(UInt32Value.of(port))
                      .setTransportProtocol("raw_buffer"))
              .addAllFilters(filters));
    }
    return listener.build();
  }

  private void apply(Listener inbound) {
    server.apply(
        new ProxyConfig(Map.of(InboundChains.LISTENER, inbound), Map.of(), Map.of(), Map.of()));
  }

  @Test
  void aDenyOnAdminBlocksEveryEncodingOfIt() throws Exception {
    startHttpServer();
    apply(
        inbound(
            port,
            true,
            List.of(
                httpManager(
                    port,
                    HttpConnectionManager.PathWithEscapedSlashesAction
                        .IMPLEMENTATION_SPECIFIC_DEFAULT,
                    List.of(
                        rbac("deny", RBAC.Action.DENY, "no-admin", denyPathPrefix("/admin")))))));

    List<String> bypasses =
        List.of(
            "/admin",
            "//admin",
            "/a/../admin",
            "/./admin/./users",
            "/%2Fadmin",
            "/%2fadmin",
            "/%5Cadmin",
            "/%61dmin",
            "/%2e%2e/admin",
            "/ADMIN",
            "/Admin/users",
            "/admin#x",
            "/public/../admin?x=1");
    List<String> notDenied = new ArrayList<>();
    for (String target : bypasses) {
      int status = rawStatus(target);
      if (status != 403) {
        notDenied.add(target + " -> " + status);
      }
    }

    assertThat(notDenied).as("requests that were not denied").isEmpty();
    // A gRPC caller is told PERMISSION_DENIED (7) in gRPC's terms.
    assertThat(rawGrpcStatus("/admin.Admin/Shutdown")).isEqualTo("7");
    assertThat(app.served.get()).isZero();
    assertThat(server.stats().rbacDenied()).isEqualTo(bypasses.size() + 1);
    // What is allowed goes to the application in its canonical form.
    assertThat(rawStatus("/public//docs/./a/../b?q=%2F")).isEqualTo(200);
    assertThat(app.paths).containsExactly("/public/docs/b?q=%2F");
  }

  @Test
  void escapedSlashesCanBeRefusedOutright() throws Exception {
    startHttpServer();
    apply(
        inbound(
            port,
            true,
            List.of(
                httpManager(
                    port,
                    HttpConnectionManager.PathWithEscapedSlashesAction.REJECT_REQUEST,
                    List.of()))));

    assertThat(rawStatus("/a%2Fb")).isEqualTo(400);
    assertThat(rawStatus("/a%5cb")).isEqualTo(400);
    assertThat(rawStatus("/a/b")).isEqualTo(200);
    assertThat(app.paths).containsExactly("/a/b");
  }

  @Test
  void anAllowOnAPrincipalRefusesPlaintextAndEveryOtherIdentity() throws Exception {
    startHttpServer();
    apply(
        inbound(
            port,
            true,
            List.of(
                httpManager(
                    port,
                    HttpConnectionManager.PathWithEscapedSlashesAction
                        .IMPLEMENTATION_SPECIFIC_DEFAULT,
                    List.of(
                        rbac("allow", RBAC.Action.ALLOW, "frontend", allowPrincipal(FRONTEND)))))));
    HttpClient frontend = sidecarFor("frontend");
    HttpClient checkout = sidecarFor("checkout");

    assertThat(rawStatus("/pay")).as("plaintext").isEqualTo(403);
    assertThat(status(checkout, "/pay")).as("another mesh identity").isEqualTo(403);
    assertThat(status(frontend, "/pay")).as("the allowed identity").isEqualTo(200);
    assertThat(app.served.get()).isEqualTo(1);
    assertThat(app.requests.peek().get("X-forwarded-client-cert"))
        .containsExactly("URI=" + FRONTEND);
  }

  @Test
  void aPolicyAppliedLaterGovernsRequestsOnConnectionsAcceptedBeforeIt() throws Exception {
    startHttpServer();
    Filter open =
        httpManager(
            port,
            HttpConnectionManager.PathWithEscapedSlashesAction.IMPLEMENTATION_SPECIFIC_DEFAULT,
            List.of());
    apply(inbound(port, true, List.of(open)));
    HttpClient checkout = sidecarFor("checkout");
    // The client sidecar keeps this mTLS connection to the server for the requests below.
    assertThat(status(checkout, "/pay")).isEqualTo(200);

    apply(
        inbound(
            port,
            true,
            List.of(
                httpManager(
                    port,
                    HttpConnectionManager.PathWithEscapedSlashesAction
                        .IMPLEMENTATION_SPECIFIC_DEFAULT,
                    List.of(
                        rbac("allow", RBAC.Action.ALLOW, "frontend", allowPrincipal(FRONTEND)))))));

    assertThat(status(checkout, "/pay")).as("the same connection, the new policy").isEqualTo(403);
    assertThat(app.served.get()).isEqualTo(1);
  }

  @Test
  void withoutAPlaintextChainAPortIsStrictAndWithOnlyOneItTakesNoTls() throws Exception {
    startHttpServer();
    Filter plain =
        httpManager(
            port,
            HttpConnectionManager.PathWithEscapedSlashesAction.IMPLEMENTATION_SPECIFIC_DEFAULT,
            List.of());
    apply(inbound(port, false, List.of(plain)));
    HttpClient frontend = sidecarFor("frontend");

    assertThat(rawStatus("/pay")).as("plaintext under STRICT").isEqualTo(-1);
    assertThat(status(frontend, "/pay")).as("mTLS under STRICT").isEqualTo(200);

    // DISABLE: only a plaintext chain. The bootstrap said PERMISSIVE; the controller decides.
    apply(
        Listener.newBuilder()
            .setName(InboundChains.LISTENER)
            .addFilterChains(
                FilterChain.newBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder()
                            .setDestinationPort(UInt32Value.of(port))
                            .setTransportProtocol("raw_buffer"))
                    .addFilters(plain))
            .build());
    HttpClient fresh = sidecarFor("frontend");
    assertThat(status(fresh, "/pay")).as("mTLS under DISABLE").isEqualTo(503);
    assertThat(rawStatus("/pay")).as("plaintext under DISABLE").isEqualTo(200);
    assertThat(app.served.get()).isEqualTo(2);
  }

  @Test
  void networkRbacClosesADeniedTcpConnectionBeforeTheApplicationSeesIt() throws Exception {
    TcpEcho echo = fixture.closeLater(new TcpEcho());
    startServer(InboundPort.AppProtocol.TCP, echo.address());
    var deny =
        io.envoyproxy
            .envoy
            .extensions
            .filters
            .network
            .rbac
            .v3
            .RBAC
            .newBuilder()
            .setStatPrefix("tcp")
            .setRules(
                RBAC.newBuilder()
                    .setAction(RBAC.Action.DENY)
                    .putPolicies(
                        "no-loopback-plaintext",
                        Policy.newBuilder()
                            .addPermissions(Permission.newBuilder().setDestinationPort(port))
                            .addPrincipals(
                                Principal.newBuilder()
                                    .setDirectRemoteIp(
                                        CidrRange.newBuilder()
                                            .setAddressPrefix("127.0.0.0")
                                            .setPrefixLen(UInt32Value.of(8))))
                            .build()))
            .build();
    Filter rbac =
        Filter.newBuilder()
            .setName("envoy.filters.network.rbac")
            .setTypedConfig(Any.pack(deny))
            .build();
    Filter tcpProxy = Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").build();
    assertThat(Authorizer.ofNetworkFilters(List.of(rbac)).allowsEverything()).isFalse();

    apply(inbound(port, true, List.of(rbac, tcpProxy)));
    assertThat(echoes()).as("denied by network RBAC").isFalse();

    apply(inbound(port, true, List.of(tcpProxy)));
    assertThat(echoes()).as("no RBAC filter").isTrue();

    // Only the relayed connection is in Istio's TCP metrics: one byte each way, then closed.
    Map<String, String> destination = Map.of("reporter", "destination", "request_protocol", "tcp");
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              var samples = scrape(server);
              assertThat(
                      PrometheusText.sum(
                          samples, "istio_tcp_connections_opened_total", destination))
                  .isEqualTo(1);
              assertThat(
                      PrometheusText.sum(
                          samples, "istio_tcp_connections_closed_total", destination))
                  .isEqualTo(1);
              assertThat(PrometheusText.sum(samples, "istio_tcp_received_bytes_total", destination))
                  .isEqualTo(1);
              assertThat(PrometheusText.sum(samples, "istio_tcp_sent_bytes_total", destination))
                  .isEqualTo(1);
            });
  }

  private static List<PrometheusText.Sample> scrape(HttpProxy proxy) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create()
        .write(out, proxy.stats().registry().scrape());
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  /** Whether a byte sent in plaintext to the server's port comes back from the echo behind it. */
  private boolean echoes() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write('x');
      socket.getOutputStream().flush();
      return socket.getInputStream().read() == 'x';
    } catch (java.net.SocketException e) {
      return false;
    }
  }
}
