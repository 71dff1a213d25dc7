package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.store.StoreCodec.utf8;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One agent's right to write its cluster's keys. The session key is bound to a lease kept alive
 * while the agent's stream lasts; every write is a transaction guarded on the session key still
 * holding this session's token, so a replica that lost the session (its lease expired, or the agent
 * reconnected elsewhere) can never overwrite the new holder's data.
 */
public final class ClusterSession {
  private final Client client;
  private final ClusterInfo info;
  private final long leaseId;
  private final ByteSequence sessionKey;
  private final ByteSequence token;
  private final CloseableClient keepAlive;
  private final CompletableFuture<Void> lost;

  /**
   * What this session knows etcd holds of its cluster's services: the SHA-256 of each stored value.
   * Only the session's holder may write these keys (every write is guarded on the session), so
   * after {@link #loadStored} it stays exact: a shard announced again unchanged is not written.
   */
  private final java.util.concurrent.ConcurrentHashMap<ServiceKey, ByteSequence> stored =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * At most this many operations go in one transaction: etcd's default {@code --max-txn-ops}, so a
   * stock etcd takes them.
   */
  public static final int MAX_OPS_PER_TXN = 128;

  /** At most this many value bytes go in one transaction, under etcd's 1.5 MiB request limit. */
  public static final int MAX_BYTES_PER_TXN = 1 << 20;

  /** One change to the cluster's services: store a shard, or withdraw a service. */
  public sealed interface Change {
    ServiceKey service();
  }

  public record Put(ServiceEndpoints shard) implements Change {
    @Override
    public ServiceKey service() {
      return shard.service();
    }
  }

  public record Withdraw(ServiceKey service) implements Change {}

  ClusterSession(
      Client client,
      ClusterInfo info,
      long leaseId,
      String token,
      CloseableClient keepAlive,
      CompletableFuture<Void> lost) {
    this.client = client;
    this.info = info;
    this.leaseId = leaseId;
    this.sessionKey = utf8(KeyLayout.session(info.name()));
    this.token = utf8(token);
    this.keepAlive = keepAlive;
    this.lost = lost;
  }

  /**
   * Completes when the session's lease can no longer be kept alive (etcd away longer than the
   * session's TTL): the session key is gone, and the agent must reconnect to claim a new one.
   */
  public CompletableFuture<Void> lost() {
    return lost;
  }

  public ClusterName cluster() {
    return info.name();
  }

  public long leaseId() {
    return leaseId;
  }

  /**
   * Reads what etcd holds of this cluster's services, so that later writes can skip what is already
   * there (an agent that reconnects re-announces everything). Called once, when the session is
   * opened.
   */
  CompletableFuture<ClusterSession> loadStored() {
    ByteSequence prefix = utf8(KeyLayout.endpointsOf(info.name()));
    return client
        .getKVClient()
        .get(prefix, GetOption.builder().isPrefix(true).build())
        .thenApply(
            response -> {
              for (KeyValue kv : response.getKvs()) {
                KeyLayout.parse(kv.getKey().toString(StandardCharsets.UTF_8))
                    .filter(parsed -> parsed instanceof KeyLayout.EndpointsKey)
                    .map(parsed -> ((KeyLayout.EndpointsKey) parsed).service())
                    .ifPresent(service -> stored.put(service, digest(kv.getValue())));
              }
              return this;
            });
  }

  /** Stores the cluster's full state of one service, replacing what was there. */
  public CompletableFuture<Void> put(ServiceEndpoints shard) {
    return write(List.of(new Put(shard))).thenApply(written -> null);
  }

  /** Removes the cluster's shard of a service that no longer exists there. */
  public CompletableFuture<Void> withdraw(ServiceKey service) {
    return write(List.of(new Withdraw(service))).thenApply(written -> null);
  }

  /**
   * Applies {@code changes} in order, skipping each that would leave etcd as it is (a shard stored
   * unchanged, a service withdrawn that is not stored), in as few guarded transactions as etcd's
   * limits allow ({@link #MAX_OPS_PER_TXN}, {@link #MAX_BYTES_PER_TXN}). When a service changes
   * twice, only its last state is written. Completes with the number of keys written.
   */
  public CompletableFuture<Integer> write(List<Change> changes) {
    java.util.LinkedHashMap<ServiceKey, Change> last = new java.util.LinkedHashMap<>();
    for (Change change : changes) {
      if (change instanceof Put put && !put.shard().cluster().equals(info.name())) {
        throw new IllegalArgumentException(
            "cluster: '"
                + put.shard().cluster()
                + "' (expected: this session's '"
                + info.name()
                + "')");
      }
      last.remove(change.service());
      last.put(change.service(), change);
    }
    List<List<Pending>> batches = new ArrayList<>();
    List<Pending> batch = new ArrayList<>();
    long bytes = 0;
    for (Change change : last.values()) {
      ByteSequence key = utf8(KeyLayout.endpoints(info.name(), change.service()));
      Pending pending;
      if (change instanceof Put put) {
        ByteSequence value = StoreCodec.encode(put.shard());
        ByteSequence digest = digest(value);
        if (digest.equals(stored.get(change.service()))) {
          continue;
        }
        pending =
            new Pending(
                change.service(), Op.put(key, value, PutOption.DEFAULT), digest, value.size());
      } else {
        if (!stored.containsKey(change.service())) {
          continue;
        }
        pending = new Pending(change.service(), Op.delete(key, DeleteOption.DEFAULT), null, 0);
      }
      if (!batch.isEmpty()
          && (batch.size() >= MAX_OPS_PER_TXN || bytes + pending.bytes() > MAX_BYTES_PER_TXN)) {
        batches.add(batch);
        batch = new ArrayList<>();
        bytes = 0;
      }
      batch.add(pending);
      bytes += pending.bytes();
    }
    if (!batch.isEmpty()) {
      batches.add(batch);
    }
    CompletableFuture<Integer> written = CompletableFuture.completedFuture(0);
    for (List<Pending> each : batches) {
      written =
          written.thenCompose(
              count ->
                  guarded(each.stream().map(Pending::op).toArray(Op[]::new))
                      .thenApply(
                          ignored -> {
                            for (Pending pending : each) {
                              if (pending.digest() == null) {
                                stored.remove(pending.service());
                              } else {
                                stored.put(pending.service(), pending.digest());
                              }
                            }
                            return count + each.size();
                          }));
    }
    return written;
  }

  /** A write of one service's key, with what the key will then hold (null: nothing). */
  private record Pending(ServiceKey service, Op op, ByteSequence digest, int bytes) {}

  private static ByteSequence digest(ByteSequence value) {
    try {
      return ByteSequence.from(
          java.security.MessageDigest.getInstance("SHA-256").digest(value.getBytes()));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Deletes every service of this cluster that is not in {@code announced}: what the agent did not
   * re-announce after reconnecting no longer exists. Returns how many were removed.
   */
  public CompletableFuture<Integer> sweep(Set<ServiceKey> announced) {
    ByteSequence prefix = utf8(KeyLayout.endpointsOf(info.name()));
    return client
        .getKVClient()
        .get(prefix, GetOption.builder().isPrefix(true).withKeysOnly(true).build())
        .thenCompose(
            response -> {
              List<Change> withdrawals = new ArrayList<>();
              for (KeyValue kv : response.getKvs()) {
                KeyLayout.parse(kv.getKey().toString(StandardCharsets.UTF_8))
                    .filter(parsed -> parsed instanceof KeyLayout.EndpointsKey)
                    .map(parsed -> ((KeyLayout.EndpointsKey) parsed).service())
                    .filter(service -> !announced.contains(service))
                    .ifPresent(
                        service -> {
                          // Stored (it was just read), whatever this session thought.
                          stored.putIfAbsent(service, ByteSequence.EMPTY);
                          withdrawals.add(new Withdraw(service));
                        });
              }
              return write(withdrawals);
            });
  }

  private CompletableFuture<Void> guarded(Op... ops) {
    return client
        .getKVClient()
        .txn()
        .If(new Cmp(sessionKey, Cmp.Op.EQUAL, CmpTarget.value(token)))
        .Then(ops)
        .commit()
        .thenApply(this::requireSucceeded);
  }

  private Void requireSucceeded(TxnResponse response) {
    if (!response.isSucceeded()) {
      throw new SessionLostException(info.name());
    }
    return null;
  }

  /**
   * Ends the session: stops the keep-alive and revokes the lease, which deletes the session key.
   * The cluster's endpoints stay; the cluster is then shown as disconnected.
   */
  public CompletableFuture<Void> close() {
    keepAlive.close();
    return client.getLeaseClient().revoke(leaseId).handle((response, error) -> (Void) null);
  }
}
