package dev.fedmesh.proxy.sidecar;

import static dev.fedmesh.proxy.dns.DnsListeners.domain;
import static dev.fedmesh.proxy.dns.DnsListeners.filter;
import static dev.fedmesh.proxy.dns.DnsListeners.listener;
import static dev.fedmesh.proxy.dns.DnsTestClient.A;
import static dev.fedmesh.proxy.dns.DnsTestClient.query;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.proxy.dns.DnsTestClient;
import dev.fedmesh.proxy.dns.FakeResolver;
import dev.fedmesh.proxy.xds.XdsClient;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DNS listener as the controller drives it: a whole sidecar against java-control-plane's ADS
 * server, the listener arriving, changing, being refused and going away over LDS.
 */
class SidecarDnsTest {
  private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

  private final SimpleCache<String> cache = new SimpleCache<>(node -> "sidecars");
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  @TempDir Path dir;
  private Server controlPlane;
  private int version;
  private Sidecar sidecar;
  private FakeResolver upstream;

  @BeforeEach
  void setUp() throws Exception {
    controlPlane =
        NettyServerBuilder.forAddress(ANY_PORT)
            .addService(new V3DiscoveryServer(cache).getAggregatedDiscoveryServiceImpl())
            .build()
            .start();
    upstream = FakeResolver.start(group, FakeResolver.answering("192.0.2.53"));
    closeables.add(upstream);
    // The pod's own resolvers; the controller's listener names none, so these are used.
    Files.writeString(dir.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
    SidecarBootstrap bootstrap =
        new SidecarBootstrap(
            new SidecarBootstrap.NodeIdentity(
                "client-1", "east", "east", "us-east", "us-east-a", "shop", "client", Map.of()),
            List.of("127.0.0.1:" + controlPlane.getPort()),
            Optional.empty(),
            Optional.empty(),
            Optional.of(ANY_PORT),
            List.of(),
            XdsClient.Protocol.STATE_OF_THE_WORLD,
            false,
            SidecarBootstrap.DEFAULT_PROTOCOL_DETECTION_TIMEOUT,
            SidecarBootstrap.Interception.NONE,
            Optional.empty(),
            dir.resolve("resolv.conf"));
    sidecar = Sidecar.start(bootstrap, group);
    closeables.add(sidecar);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    controlPlane.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void publish(Listener... listeners) {
    cache.setSnapshot(
        "sidecars",
        Snapshot.create(
            List.of(), List.of(), List.of(listeners), List.of(), List.of(), "v" + (++version)));
  }

  private Listener dns(DnsTable table) {
    return listener(ANY_PORT, filter(table, Duration.ofSeconds(2), upstream.address()).build());
  }

  private static DnsTable table(String name, String... addresses) {
    return DnsTable.newBuilder().addVirtualDomains(domain(name, addresses)).build();
  }

  private String get(String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + sidecar.adminAddress().orElseThrow().getPort()
                            + path))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return response.statusCode() + " " + response.body();
  }

  private InetSocketAddress served() {
    await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.dns().address().isPresent());
    return sidecar.dns().address().orElseThrow();
  }

  @Test
  void theControllersDnsListenerIsServedOverUdpAndTcpAndShownOnTheAdminPages() throws Exception {
    publish(dns(table("payments.shop.svc.cluster.local", "10.0.0.1", "fd00::1")));
    InetSocketAddress address = served();

    assertThat(
            DnsTestClient.udp(address, query(1, "payments.shop.svc.cluster.local", A)).addresses())
        .containsExactly("10.0.0.1");
    assertThat(DnsTestClient.tcp(address, query(2, "example.org", A)).get(0).addresses())
        .containsExactly("192.0.2.53");
    assertThat(upstream.next().tcp()).isTrue();

    String page = get("/dns");
    assertThat(page).startsWith("200 ");
    JsonNode status = new ObjectMapper().readTree(page.substring(4));
    assertThat(status.path("serving").asBoolean()).isTrue();
    assertThat(status.path("address").asText()).isEqualTo("127.0.0.1:" + address.getPort());
    assertThat(status.path("names").get(0).path("name").asText())
        .isEqualTo("payments.shop.svc.cluster.local");
    assertThat(status.path("names").get(0).path("addresses").toString())
        .isEqualTo("[\"10.0.0.1\",\"fd00::1\"]");
    assertThat(status.path("resolvers").get(0).asText())
        .isEqualTo("127.0.0.1:" + upstream.address().getPort());
    assertThat(get("/config_dump"))
        .contains("type.googleapis.com/envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig");
    assertThat(get("/stats/prometheus"))
        .contains("fedmesh_dns_local_answers_total{result=\"answer\",type=\"A\"} 1")
        .contains("fedmesh_dns_external_queries_total{protocol=\"tcp\",type=\"A\"} 1")
        .contains("fedmesh_dns_pending_lookups 0");
  }

  @Test
  void aMalformedDnsListenerIsRejectedByFieldAndTheLastGoodTableKeepsServing() throws Exception {
    publish(dns(table("payments.shop", "10.0.0.1")));
    InetSocketAddress address = served();

    publish(dns(table("orders.shop", "10.0.0.999")));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(sidecar.lastXdsError())
                    .contains(
                        "listener 'dns': listener_filters[0].typed_config.server_config"
                            + ".inline_dns_table.virtual_domains[0].endpoint.address_list"
                            + ".address[0]: '10.0.0.999' (expected: an IPv4 or IPv6 address)"));
    assertThat(sidecar.dns().address()).contains(address);
    assertThat(DnsTestClient.udp(address, query(3, "payments.shop", A)).addresses())
        .containsExactly("10.0.0.1");
  }

  @Test
  void aNewTableIsServedInPlaceAndWithoutTheListenerDnsStops() throws Exception {
    publish(dns(table("payments.shop", "10.0.0.1")));
    InetSocketAddress address = served();

    publish(dns(table("payments.shop", "10.0.0.2")));
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(DnsTestClient.udp(address, query(4, "payments.shop", A)).addresses())
                    .containsExactly("10.0.0.2"));
    assertThat(sidecar.dns().address()).contains(address);

    publish();
    await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.dns().address().isEmpty());
    String page = get("/dns");
    assertThat(new ObjectMapper().readTree(page.substring(4)).path("serving").asBoolean())
        .isFalse();
  }
}
