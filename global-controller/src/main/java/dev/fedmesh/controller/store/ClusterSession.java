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

  /** Stores the cluster's full state of one service, replacing what was there. */
  public CompletableFuture<Void> put(ServiceEndpoints shard) {
    if (!shard.cluster().equals(info.name())) {
      throw new IllegalArgumentException(
          "cluster: '" + shard.cluster() + "' (expected: this session's '" + info.name() + "')");
    }
    ByteSequence key = utf8(KeyLayout.endpoints(shard.cluster(), shard.service()));
    return guarded(Op.put(key, StoreCodec.encode(shard), PutOption.DEFAULT));
  }

  /** Removes the cluster's shard of a service that no longer exists there. */
  public CompletableFuture<Void> withdraw(ServiceKey service) {
    ByteSequence key = utf8(KeyLayout.endpoints(info.name(), service));
    return guarded(Op.delete(key, DeleteOption.DEFAULT));
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
              List<Op> deletes = new ArrayList<>();
              for (KeyValue kv : response.getKvs()) {
                String key = kv.getKey().toString(StandardCharsets.UTF_8);
                KeyLayout.parse(key)
                    .filter(parsed -> parsed instanceof KeyLayout.EndpointsKey)
                    .map(parsed -> ((KeyLayout.EndpointsKey) parsed).service())
                    .filter(service -> !announced.contains(service))
                    .ifPresent(
                        service -> deletes.add(Op.delete(kv.getKey(), DeleteOption.DEFAULT)));
              }
              if (deletes.isEmpty()) {
                return CompletableFuture.completedFuture(0);
              }
              return guarded(deletes.toArray(Op[]::new)).thenApply(ignored -> deletes.size());
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
