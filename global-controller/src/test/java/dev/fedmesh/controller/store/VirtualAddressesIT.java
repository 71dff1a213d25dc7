package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.MeshFixtures.GRPC_7070;
import static dev.fedmesh.controller.MeshFixtures.endpoint;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.controller.ControllerWithAgent;
import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.testkit.EtcdExtension;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Virtual addresses against a real etcd: stable across a controller restart, one per host and one
 * host per address however replicas race, never reused while live when the range runs out, and
 * released once no cluster needs them.
 */
class VirtualAddressesIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");

  private Client client;
  private ScheduledExecutorService executor;

  @BeforeEach
  void connect() throws Exception {
    client = Client.builder().endpoints(etcd.endpoints()).build();
    executor = Executors.newScheduledThreadPool(2);
    // etcd is shared by the tests of this class: each starts with no addresses.
    client
        .getKVClient()
        .delete(
            bytes(KeyLayout.VIPS),
            io.etcd.jetcd.options.DeleteOption.builder().isPrefix(true).build())
        .get(5, TimeUnit.SECONDS);
  }

  @AfterEach
  void close() {
    executor.shutdownNow();
    client.close();
  }

  @Test
  void anExportedServiceKeepsItsAddressAcrossAControllerRestart() {
    ServiceKey payments = ServiceKey.of("shop", "payments");
    ServiceKey local = ServiceKey.of("shop", "internal");
    List<ServiceEndpoints> shards =
        List.of(
            shard(payments, true),
            // not exported: no address, it is reached in its own cluster only
            shard(local, false));
    String address;
    try (ControllerWithAgent first = ControllerWithAgent.start(etcd.endpoints())) {
      first.announce(shards);
      await("payments gets a virtual address")
          .atMost(Duration.ofSeconds(10))
          .until(() -> first.controller().mesh().virtualAddress(payments.fqdn()).isPresent());
      address = first.controller().mesh().virtualAddress(payments.fqdn()).orElseThrow();
      assertThat(VirtualAddresses.Range.parse(VirtualAddresses.DEFAULT_RANGE).contains(address))
          .as(address)
          .isTrue();
      assertThat(first.controller().mesh().virtualAddress(local.fqdn())).isEmpty();
    }
    try (ControllerWithAgent second = ControllerWithAgent.start(etcd.endpoints())) {
      await("the restarted controller has loaded the mesh")
          .atMost(Duration.ofSeconds(10))
          .until(() -> second.controller().mesh().services().containsKey(payments));
      second.announce(shards);
      assertThat(second.controller().mesh().virtualAddress(payments.fqdn())).contains(address);
    }
    assertThat(stored())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                KeyLayout.virtualAddressOf(payments.fqdn()),
                address,
                KeyLayout.virtualAddressHolder(address),
                payments.fqdn()));
  }

  @Test
  void racingReplicasAgreeAndAFullRangeLeavesHostsWithoutAddressesRatherThanShareOne()
      throws Exception {
    // 240.240.0.0/30 holds two usable addresses; three services want one.
    VirtualAddresses.Range range = VirtualAddresses.Range.parse("240.240.0.0/30");
    VirtualAddresses first =
        new VirtualAddresses(client, range, Duration.ZERO, Clock.systemUTC(), executor);
    VirtualAddresses second =
        new VirtualAddresses(client, range, Duration.ZERO, Clock.systemUTC(), executor);
    List<ServiceKey> services =
        List.of(ServiceKey.of("shop", "a"), ServiceKey.of("shop", "b"), ServiceKey.of("shop", "c"));

    for (int round = 0; round < 3; round++) {
      MeshSnapshot mesh = meshOf(services);
      CompletableFuture<Void> one = CompletableFuture.runAsync(() -> first.reconcile(mesh));
      CompletableFuture<Void> two = CompletableFuture.runAsync(() -> second.reconcile(mesh));
      CompletableFuture.allOf(one, two).get(20, TimeUnit.SECONDS);
    }

    Map<String, String> hosts = hostsToAddresses();
    assertThat(hosts).hasSize(2);
    assertThat(new HashSet<>(hosts.values()))
        .containsExactlyInAnyOrder("240.240.0.1", "240.240.0.2");
    for (Map.Entry<String, String> host : hosts.entrySet()) {
      assertThat(stored())
          .containsEntry(KeyLayout.virtualAddressHolder(host.getValue()), host.getKey());
    }
    Set<String> without = new HashSet<>(List.of("a", "b", "c"));
    hosts.keySet().forEach(host -> without.remove(host.substring(0, 1)));
    String unserved = without.iterator().next() + ".shop.svc.cluster.local";
    assertThat(first.unallocated()).containsExactly(unserved);
    assertThat(second.unallocated()).containsExactly(unserved);

    // One service goes: its address is released (no grace here) and the waiting host gets it.
    String leaving = hosts.keySet().iterator().next();
    List<ServiceKey> remaining =
        services.stream().filter(service -> !service.fqdn().equals(leaving)).toList();
    first.reconcile(meshOf(remaining)); // releases
    first.reconcile(meshOf(remaining)); // allocates to the waiting host
    Map<String, String> after = hostsToAddresses();
    assertThat(after).doesNotContainKey(leaving).containsKey(unserved);
    assertThat(after.get(unserved)).isEqualTo(hosts.get(leaving));
    assertThat(first.unallocated()).isEmpty();
  }

  @Test
  void anAddressIsKeptThroughTheReleaseGrace() throws Exception {
    VirtualAddresses allocator =
        new VirtualAddresses(
            client,
            VirtualAddresses.Range.parse(VirtualAddresses.DEFAULT_RANGE),
            Duration.ofHours(1),
            Clock.systemUTC(),
            executor);
    ServiceKey service = ServiceKey.of("shop", "flaky");
    allocator.reconcile(meshOf(List.of(service)));
    Map<String, String> held = hostsToAddresses();
    assertThat(held).containsKey(service.fqdn());

    allocator.reconcile(meshOf(List.of())); // withdrawn, for less than the grace
    assertThat(hostsToAddresses()).isEqualTo(held);
  }

  @Test
  void aRangeIsCheckedWithAMessageNamingTheExpectation() {
    assertThatThrownBy(() -> VirtualAddresses.Range.parse("240.240.0.0"))
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> VirtualAddresses.Range.parse("fd00::/64"))
        .hasMessageContaining("IPv4 range");
    assertThatThrownBy(() -> VirtualAddresses.Range.parse("240.240.0.1/16"))
        .hasMessageContaining("240.240.0.0/16");
    assertThatThrownBy(() -> VirtualAddresses.Range.parse("240.240.0.0/31"))
        .hasMessageContaining("/8 to /30");
    assertThat(VirtualAddresses.Range.parse("240.240.0.0/16").size()).isEqualTo(65534);
  }

  private static ServiceEndpoints shard(ServiceKey service, boolean exported) {
    return new ServiceEndpoints(
        ControllerWithAgent.EAST,
        service,
        List.of(GRPC_7070),
        exported,
        List.of(Endpoint.of("127.0.0.9", Map.of("grpc", 8080), ControllerWithAgent.EAST_A)));
  }

  /** The services, exported by east, with the addresses etcd holds now (as a model would). */
  private MeshSnapshot meshOf(List<ServiceKey> services) throws Exception {
    MeshFixtures fixtures = MeshFixtures.mesh().cluster("east", "east", EAST_A);
    for (ServiceKey service : services) {
      fixtures.service("east", service, GRPC_7070, true, endpoint("127.0.0.9", 8080, EAST_A));
    }
    hostsToAddresses().forEach(fixtures::virtualAddress);
    return fixtures.build();
  }

  private Map<String, String> hostsToAddresses() throws Exception {
    Map<String, String> hosts = new TreeMap<>();
    stored()
        .forEach(
            (key, value) -> {
              if (key.startsWith(KeyLayout.VIP_HOSTS)) {
                hosts.put(key.substring(KeyLayout.VIP_HOSTS.length()), value);
              }
            });
    return hosts;
  }

  private Map<String, String> stored() {
    try {
      List<KeyValue> kvs =
          client
              .getKVClient()
              .get(bytes(KeyLayout.VIPS), GetOption.builder().isPrefix(true).build())
              .get(5, TimeUnit.SECONDS)
              .getKvs();
      Map<String, String> all = new TreeMap<>();
      for (KeyValue kv : kvs) {
        all.put(kv.getKey().toString(UTF_8), kv.getValue().toString(UTF_8));
      }
      return all;
    } catch (Exception e) {
      throw new AssertionError("reading etcd", e);
    }
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, UTF_8);
  }
}
