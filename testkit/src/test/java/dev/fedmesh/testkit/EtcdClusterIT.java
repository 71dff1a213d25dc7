package dev.fedmesh.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EtcdClusterIT {
  private static final ByteSequence KEY = ByteSequence.from("/test/key", UTF_8);
  private static final ByteSequence VALUE = ByteSequence.from("value", UTF_8);

  @Test
  void singleMemberKeepsItsDataAcrossKillAndRestart() throws Exception {
    try (EtcdCluster etcd = EtcdCluster.start(1)) {
      EtcdMember member = etcd.member(0);
      try (Client client =
          Client.builder().endpoints(etcd.clientUrls().toArray(String[]::new)).build()) {
        client.getKVClient().put(KEY, VALUE).get(10, TimeUnit.SECONDS);
      }
      long pid = member.pid();

      member.kill();

      assertThat(ProcessHandle.of(pid)).isEmpty();
      assertThat(member.healthy()).isFalse();
      member.restart();
      assertThat(member.pid()).isNotEqualTo(pid);
      try (Client client =
          Client.builder().endpoints(etcd.clientUrls().toArray(String[]::new)).build()) {
        var response = client.getKVClient().get(KEY).get(10, TimeUnit.SECONDS);
        assertThat(response.getKvs())
            .singleElement()
            .satisfies(kv -> assertThat(kv.getValue()).isEqualTo(VALUE));
      }
    }
  }

  @Test
  void threeMembersSurviveTheLossOfOneAndCleanUpEveryProcess() throws Exception {
    long[] pids;
    try (EtcdCluster etcd = EtcdCluster.start(3)) {
      pids = etcd.members().stream().mapToLong(EtcdMember::pid).toArray();
      etcd.member(0).kill();

      // If the killed member led, the other two have no leader until they elect one, and
      // /health says false until then: surviving the loss is that election, so wait for it.
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> etcd.member(1).healthy() || etcd.member(2).healthy());
      try (Client client =
          Client.builder()
              .endpoints(etcd.member(1).clientUrl(), etcd.member(2).clientUrl())
              .build()) {
        client.getKVClient().put(KEY, VALUE).get(10, TimeUnit.SECONDS);
      }
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid)).as("etcd pid %d after close", pid).isEmpty();
    }
  }
}
