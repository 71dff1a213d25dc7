package dev.fedmesh.controller.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.testkit.EtcdExtension;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A cluster session's writes against a real etcd: batched, and nothing written twice. */
class ClusterSessionIT {
  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  // etcd is shared by the tests of this class: each test has a cluster of its own.
  private static final ClusterName EAST = ClusterName.of("east");
  private static final ClusterName WEST = ClusterName.of("west");
  private static final Locality ZONE = Locality.of("us-east", "us-east-a");
  private static final ClusterInfo INFO =
      new ClusterInfo(EAST, "east", ZONE, List.of(), "fedmesh.local", "test");

  private static final ClusterInfo WEST_INFO =
      new ClusterInfo(WEST, "west", ZONE, List.of(), "fedmesh.local", "test");

  private Client client;
  private EtcdMeshStore store;

  @BeforeEach
  void connect() {
    client = Client.builder().endpoints(etcd.endpoints()).build();
    store = new EtcdMeshStore(client, "controller-test", Duration.ofSeconds(10));
  }

  @AfterEach
  void close() {
    client.close();
  }

  private static ServiceEndpoints shard(int service, int port) {
    return shard(EAST, service, port);
  }

  private static ServiceEndpoints shard(ClusterName cluster, int service, int port) {
    return new ServiceEndpoints(
        cluster,
        ServiceKey.of("load", "svc-" + service),
        List.of(new ServicePort("http", 80, Protocol.HTTP)),
        true,
        List.of(
            new Endpoint(
                "10.1.0." + (service % 250 + 1),
                Map.of("http", port),
                ZONE,
                dev.fedmesh.model.EndpointHealth.HEALTHY,
                Map.of("version", "v1", "app", "svc", "tier", "backend"),
                "svc",
                1,
                "svc-" + service)));
  }

  private long revision() throws Exception {
    return client
        .getKVClient()
        .get(ByteSequence.from("/", StandardCharsets.UTF_8))
        .get(5, TimeUnit.SECONDS)
        .getHeader()
        .getRevision();
  }

  private long storedShards() throws Exception {
    return client
        .getKVClient()
        .get(
            ByteSequence.from(KeyLayout.endpointsOf(EAST), StandardCharsets.UTF_8),
            GetOption.builder().isPrefix(true).withCountOnly(true).build())
        .get(5, TimeUnit.SECONDS)
        .getCount();
  }

  @Test
  void aBurstIsStoredInTransactionsWithinEtcdsStockLimitsAndRepeatsAreNotWritten()
      throws Exception {
    ClusterSession session = store.openSession(INFO, "east-agent").get(10, TimeUnit.SECONDS);
    List<ClusterSession.Change> burst = new ArrayList<>();
    for (int s = 0; s < 300; s++) {
      burst.add(new ClusterSession.Put(shard(s, 8080)));
    }
    long before = revision();

    assertThat(session.write(burst).get(10, TimeUnit.SECONDS)).isEqualTo(300);

    // One revision per transaction: 300 keys in ceil(300 / 128) = 3, 128 being stock etcd's
    // --max-txn-ops (this etcd allows more; the session keeps to what any etcd takes).
    assertThat(revision() - before).isEqualTo(3);
    assertThat(storedShards()).isEqualTo(300);

    long settled = revision();
    assertThat(session.write(burst).get(10, TimeUnit.SECONDS)).as("all unchanged").isZero();
    assertThat(session.put(shard(7, 8080)).thenApply(v -> 0)).succeedsWithin(Duration.ofSeconds(5));
    assertThat(revision()).as("nothing written").isEqualTo(settled);

    // A change, then a withdrawal of the same service later in one batch: only the last counts.
    int written =
        session
            .write(
                List.of(
                    new ClusterSession.Put(shard(1, 9090)),
                    new ClusterSession.Put(shard(2, 9090)),
                    new ClusterSession.Withdraw(ServiceKey.of("load", "svc-2")),
                    new ClusterSession.Withdraw(ServiceKey.of("load", "never-announced"))))
            .get(10, TimeUnit.SECONDS);
    assertThat(written).isEqualTo(2);
    assertThat(revision() - settled).as("one transaction").isEqualTo(1);
    assertThat(storedShards()).isEqualTo(299);
    session.close().get(5, TimeUnit.SECONDS);
  }

  @Test
  void anAgentThatReconnectsWithNothingNewWritesOnlyItsSessionKey() throws Exception {
    ClusterSession first = store.openSession(WEST_INFO, "east-agent").get(10, TimeUnit.SECONDS);
    List<ClusterSession.Change> state = new ArrayList<>();
    for (int s = 0; s < 50; s++) {
      state.add(new ClusterSession.Put(shard(WEST, s, 8080)));
    }
    first.write(state).get(10, TimeUnit.SECONDS);
    first.close().get(5, TimeUnit.SECONDS);
    long before = revision();

    // Another replica (another store) takes the reconnecting agent: it reads what is stored first.
    EtcdMeshStore other = new EtcdMeshStore(client, "controller-other", Duration.ofSeconds(10));
    ClusterSession second = other.openSession(WEST_INFO, "east-agent").get(10, TimeUnit.SECONDS);
    assertThat(revision() - before).as("the session key alone").isEqualTo(1);

    assertThat(second.write(state).get(10, TimeUnit.SECONDS)).isZero();
    assertThat(
            second
                .sweep(
                    java.util.Set.copyOf(
                        state.stream().map(ClusterSession.Change::service).toList()))
                .get(10, TimeUnit.SECONDS))
        .isZero();
    assertThat(revision() - before).isEqualTo(1);

    // A changed gateway list is new information: the cluster's info is written again.
    second.close().get(5, TimeUnit.SECONDS);
    long closed = revision();
    ClusterInfo moved =
        new ClusterInfo(
            WEST,
            "west",
            ZONE,
            List.of(new dev.fedmesh.model.GatewayAddress("10.2.0.1", 15443)),
            "fedmesh.local",
            "test");
    other
        .openSession(moved, "east-agent")
        .get(10, TimeUnit.SECONDS)
        .close()
        .get(5, TimeUnit.SECONDS);
    // Session key and cluster info in one transaction, then the revoke that ends the session.
    assertThat(revision() - closed).isEqualTo(2);
  }
}
