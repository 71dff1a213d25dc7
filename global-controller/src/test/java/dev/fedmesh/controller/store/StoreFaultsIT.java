package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.MeshFixtures.ECHO;
import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.testkit.AdsTestClient;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.testkit.TcpRelay;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.CompactOption;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd going away, and coming back after history the watch needed was compacted: proxies keep every
 * endpoint meanwhile, and the model converges afterwards.
 */
class StoreFaultsIT {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final String ECHO_EDS = "outbound|7070||echo.default.svc.cluster.local";

  @RegisterExtension final EtcdExtension etcd = EtcdExtension.singleNode();

  private Client client;
  private TcpRelay relay;
  private GlobalController controller;
  private AdsTestClient proxy;

  @BeforeEach
  void start() throws Exception {
    client = Client.builder().endpoints(etcd.endpoints()).build();
    URI etcdUri = URI.create(etcd.endpoints());
    relay = TcpRelay.start(new InetSocketAddress(etcdUri.getHost(), etcdUri.getPort()));
    controller =
        GlobalController.start(
            ControllerConfig.of(
                List.of("http://127.0.0.1:" + relay.port()),
                new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0)));
    proxy =
        new AdsTestClient(
            controller.xdsAddress().getPort(), "proxy-1", "east", "us-east", "us-east-a");
    proxy.subscribe(AdsTestClient.EDS, List.of(ECHO_EDS));
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    controller.close();
    relay.close();
    client.close();
  }

  @Test
  void whileEtcdIsDownProxiesKeepEveryEndpointAndChangesFlowAgainAfter() throws Exception {
    write(endpoint("10.0.0.1", 8080, EAST_A), endpoint("10.0.0.2", 8080, EAST_A));
    awaitEndpoints(Set.of("10.0.0.1:8080", "10.0.0.2:8080"));
    AdminClient admin = new AdminClient(adminAddress());

    etcd.cluster().member(0).stop();

    await("the controller reports it lost etcd")
        .atMost(Duration.ofSeconds(15))
        .until(() -> !admin.ready());
    assertThat(proxy.currentEndpoints())
        .containsExactlyInAnyOrder("10.0.0.1:8080", "10.0.0.2:8080");

    etcd.cluster().member(0).restart();
    await("the controller follows etcd again").atMost(Duration.ofSeconds(30)).until(admin::ready);
    write(endpoint("10.0.0.1", 8080, EAST_A), endpoint("10.0.0.3", 8080, EAST_A));
    awaitEndpoints(Set.of("10.0.0.1:8080", "10.0.0.3:8080"));

    assertThat(AdsTestClient.endpointHistory(proxy.responses(AdsTestClient.EDS)))
        .as("no response ever lost 10.0.0.1")
        .allMatch(endpoints -> endpoints.isEmpty() || endpoints.contains("10.0.0.1:8080"));
  }

  @Test
  void aWatchThatComesBackAfterCompactionRelistsAndConverges() throws Exception {
    write(endpoint("10.0.0.1", 8080, EAST_A));
    awaitEndpoints(Set.of("10.0.0.1:8080"));

    relay.cut();
    for (int i = 2; i <= 6; i++) {
      write(endpoint("10.0.0." + i, 8080, EAST_A));
    }
    long revision =
        client
            .getKVClient()
            .get(ByteSequence.from("/", java.nio.charset.StandardCharsets.UTF_8))
            .get(10, TimeUnit.SECONDS)
            .getHeader()
            .getRevision();
    client
        .getKVClient()
        .compact(revision, CompactOption.builder().withCompactPhysical(true).build())
        .get(10, TimeUnit.SECONDS);
    assertThat(proxy.currentEndpoints()).containsExactly("10.0.0.1:8080");

    relay.restore();

    awaitEndpoints(Set.of("10.0.0.6:8080"));
  }

  private String adminAddress() {
    return "127.0.0.1:" + controller.adminAddress().getPort();
  }

  private void awaitEndpoints(Set<String> expected) {
    await("proxy endpoints " + expected)
        .atMost(Duration.ofSeconds(30))
        .until(() -> proxy.currentEndpoints().equals(expected));
  }

  private void write(Endpoint... endpoints) throws Exception {
    ServiceEndpoints shard =
        new ServiceEndpoints(EAST, ECHO, List.of(GRPC_7070), false, List.of(endpoints));
    client
        .getKVClient()
        .put(StoreCodec.utf8(KeyLayout.endpoints(EAST, ECHO)), StoreCodec.encode(shard))
        .get(10, TimeUnit.SECONDS);
  }
}
