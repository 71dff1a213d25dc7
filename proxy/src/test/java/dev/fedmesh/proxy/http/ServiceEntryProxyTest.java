package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.telemetry.Workload;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar reaching servers outside the mesh through ServiceEntry clusters, shaped as the
 * controller makes them: STATIC (EDS over the entry's endpoints), STRICT_DNS (resolving {@code
 * localhost} with the system's resolver), ORIGINAL_DST (where the request was going), and TLS the
 * sidecar originates (DestinationRule SIMPLE) to an HTTPS server with a test CA, the application
 * speaking plain HTTP. The proxy has no mesh identity: none of this needs one.
 */
class ServiceEntryProxyTest {
  private static final Workload CALLER = new Workload("web-v1", "shop", "web", "v1", "east");

  private final ProxyFixture fixture = new ProxyFixture();
  @TempDir Path directory;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
  }

  private HttpProxy start() throws InterruptedException {
    HttpProxy proxy =
        fixture.start(
            HttpProxy.builder(fixture.group)
                .workload(CALLER)
                .outbound(new InetSocketAddress("127.0.0.1", 0)));
    proxy.apply(fixture.config());
    return proxy;
  }

  private static HttpResponse<String> get(HttpProxy proxy, String url) throws Exception {
    return HttpClient.newBuilder()
        .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /** A STRICT_DNS cluster of one name, as the controller makes it for resolution DNS. */
  private static Cluster.Builder strictDns(String name, String address, int port) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STRICT_DNS)
        .setConnectTimeout(Durations.fromSeconds(1))
        .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED)
        .setDnsRefreshRate(Durations.fromSeconds(5))
        .setLoadAssignment(
            ClusterLoadAssignment.newBuilder()
                .setClusterName(name)
                .addEndpoints(
                    LocalityLbEndpoints.newBuilder()
                        .addLbEndpoints(
                            ProxyFixture.endpoint(
                                InetSocketAddress.createUnresolved(address, port)))));
  }

  /** DestinationRule SIMPLE: TLS to {@code sni}, its certificate named {@code names}. */
  private static TransportSocket simple(String sni, Path ca, String... names) {
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
    if (ca == null) {
      validation.setSystemRootCerts(
          CertificateValidationContext.SystemRootCerts.getDefaultInstance());
    } else {
      validation.setTrustedCa(DataSource.newBuilder().setFilename(ca.toString()));
    }
    for (String name : names) {
      validation.addMatchTypedSubjectAltNames(
          SubjectAltNameMatcher.newBuilder()
              .setSanType(SubjectAltNameMatcher.SanType.DNS)
              .setMatcher(StringMatcher.newBuilder().setExact(name)));
    }
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(
            Any.pack(
                UpstreamTlsContext.newBuilder()
                    .setSni(sni)
                    .setCommonTlsContext(
                        CommonTlsContext.newBuilder()
                            .setValidationContext(validation)
                            .addAlpnProtocols("http/1.1"))
                    .build()))
        .build();
  }

  private static void awaitHosts(HttpProxy proxy, String cluster) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> !proxy.clusters().cluster(cluster).orElseThrow().hosts().isEmpty());
  }

  @Test
  void aStaticEntryReachesItsEndpointsWithoutTheMeshsMetadata() throws Exception {
    Backend vm = fixture.closeLater(new Backend("billing-vm"));
    String cluster = "outbound|80||billing.vms.example.test";
    fixture
        .addCluster(ProxyFixture.cluster(cluster).build(), List.of(List.of(vm.address())))
        .addHost("billing.vms.example.test", route("/", cluster));
    HttpProxy proxy = start();

    HttpResponse<String> response = get(proxy, "http://billing.vms.example.test/invoices");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("billing-vm");
    assertThat(vm.paths).containsExactly("/invoices");
    // A server outside the mesh never gets the caller's workload metadata.
    assertThat(vm.requests.peek()).doesNotContainKey(headerName(Workload.HEADER));
  }

  private static String headerName(String header) {
    // The JDK server capitalizes header names as it stores them.
    return Character.toUpperCase(header.charAt(0)) + header.substring(1);
  }

  @Test
  void aStrictDnsEntryResolvesItsNameOffTheEventLoop() throws Exception {
    Backend httpbin = fixture.closeLater(new Backend("httpbin"));
    String cluster = "outbound|80||httpbin.example.test";
    fixture.clusters.put(cluster, strictDns(cluster, "localhost", httpbin.port()).build());
    fixture.addHost("httpbin.example.test", route("/", cluster));
    HttpProxy proxy = start();
    awaitHosts(proxy, cluster);

    assertThat(proxy.clusters().cluster(cluster).get().hosts())
        .extracting(h -> h.address().getAddress().getHostAddress())
        .containsExactly("127.0.0.1");
    HttpResponse<String> response = get(proxy, "http://httpbin.example.test/get");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("httpbin");
  }

  @Test
  void simpleOriginatesTlsWithTheSniCheckingTheServerAgainstTheGivenRoots() throws Exception {
    ExternalTlsServer api =
        fixture.closeLater(new ExternalTlsServer("api", directory, List.of("api.external.test")));
    String cluster = "outbound|80||api.external.test";
    fixture.clusters.put(
        cluster,
        strictDns(cluster, "localhost", api.port())
            .setTransportSocket(simple("api.external.test", api.caFile(), "api.external.test"))
            .build());
    fixture.addHost("api.external.test", route("/", cluster));
    HttpProxy proxy = start();
    awaitHosts(proxy, cluster);

    HttpResponse<String> response = get(proxy, "http://api.external.test/v1/prices");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("api over TLS to api.external.test");
  }

  @Test
  void aServerWhoseNameOrRootsDoNotMatchIsRefused() throws Exception {
    ExternalTlsServer api =
        fixture.closeLater(new ExternalTlsServer("api", directory, List.of("api.external.test")));
    String otherName = "outbound|80||other-name.external.test";
    String systemRoots = "outbound|80||system-roots.external.test";
    fixture.clusters.put(
        otherName,
        strictDns(otherName, "127.0.0.1", api.port())
            .setTransportSocket(simple("other.external.test", api.caFile(), "other.external.test"))
            .build());
    fixture.clusters.put(
        systemRoots,
        strictDns(systemRoots, "127.0.0.1", api.port())
            .setTransportSocket(simple("api.external.test", null, "api.external.test"))
            .build());
    fixture
        .addHost("other-name.external.test", route("/", otherName))
        .addHost("system-roots.external.test", route("/", systemRoots));
    HttpProxy proxy = start();

    // A certificate for another name, and one no system root vouches for: no connection.
    assertThat(get(proxy, "http://other-name.external.test/").statusCode()).isEqualTo(503);
    assertThat(get(proxy, "http://system-roots.external.test/").statusCode()).isEqualTo(503);
    assertThat(api.serverNames).isEmpty();
  }

  @Test
  void anOriginalDestinationEntryGoesWhereTheRequestWasGoing() throws Exception {
    Backend outside = fixture.closeLater(new Backend("outside"));
    String authority = "127.0.0.1:" + outside.port();
    String cluster = "outbound|" + outside.port() + "||127.0.0.1";
    fixture.clusters.put(
        cluster,
        Cluster.newBuilder()
            .setName(cluster)
            .setType(Cluster.DiscoveryType.ORIGINAL_DST)
            .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
            .setConnectTimeout(Durations.fromSeconds(1))
            .build());
    fixture.addHost(authority, route("/", cluster));
    HttpProxy proxy = start();

    HttpResponse<String> response = get(proxy, "http://" + authority + "/x");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("outside");
  }
}
