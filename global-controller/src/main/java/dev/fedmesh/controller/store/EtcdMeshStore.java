package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.store.StoreCodec.utf8;
import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterInfo;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The controller's writes to etcd: cluster sessions and, through them, each cluster's data. */
public final class EtcdMeshStore {
  private static final Logger log = LoggerFactory.getLogger(EtcdMeshStore.class);
  private static final int MAX_CLAIM_ATTEMPTS = 5;

  private final Client client;
  private final String replicaId;
  private final Duration sessionTtl;

  public EtcdMeshStore(Client client, String replicaId, Duration sessionTtl) {
    this.client = requireNonNull(client, "client");
    this.replicaId = requireNonNull(replicaId, "replicaId");
    this.sessionTtl = requireNonNull(sessionTtl, "sessionTtl");
    if (sessionTtl.toSeconds() < 1) {
      throw new IllegalArgumentException(
          "sessionTtl: " + sessionTtl + " (expected: at least 1 second)");
    }
  }

  /**
   * Opens the cluster's session for a newly connected agent and stores the cluster's info. A
   * session another stream of the same agent identity held is taken over: the agent reconnected,
   * and the old stream's writes fail from now on. A live session of another identity is not: the
   * open fails with {@link ClusterClaimedException}.
   */
  public CompletableFuture<ClusterSession> openSession(ClusterInfo info, String agentIdentity) {
    return client
        .getLeaseClient()
        .grant(sessionTtl.toSeconds())
        .thenCompose(
            grant -> {
              long leaseId = grant.getID();
              String token = agentIdentity + "@" + replicaId + "/" + Long.toHexString(leaseId);
              return claim(info, leaseId, token, 1)
                  .handle(
                      (ignored, error) -> {
                        if (error != null) {
                          // Nothing will keep this lease alive: hand it back now, not at expiry.
                          client.getLeaseClient().revoke(leaseId);
                          throw error instanceof CompletionException completion
                              ? completion
                              : new CompletionException(error);
                        }
                        CompletableFuture<Void> lost = new CompletableFuture<>();
                        return new ClusterSession(
                            client, info, leaseId, token, keepAlive(info, leaseId, lost), lost);
                      })
                  .thenCompose(
                      session ->
                          session
                              .loadStored()
                              .whenComplete(
                                  (loaded, error) -> {
                                    if (error != null) {
                                      session.close();
                                    }
                                  }));
            });
  }

  private CompletableFuture<Void> claim(ClusterInfo info, long leaseId, String token, int attempt) {
    ByteSequence sessionKey = utf8(KeyLayout.session(info.name()));
    return client
        .getKVClient()
        .get(sessionKey)
        .thenCompose(
            current -> {
              long modRevision =
                  current.getKvs().isEmpty() ? 0 : current.getKvs().get(0).getModRevision();
              if (!current.getKvs().isEmpty()) {
                KeyValue previous = current.getKvs().get(0);
                String holder = holderOf(previous.getValue().toString(StandardCharsets.UTF_8));
                String claimant = holderOf(token);
                if (!holder.equals(claimant)) {
                  return CompletableFuture.failedFuture(
                      new ClusterClaimedException(info.name(), holder, claimant));
                }
                log.info(
                    "cluster {}: taking over session {} (agent reconnected)",
                    info.name(),
                    previous.getValue());
              }
              ByteSequence clusterKey = utf8(KeyLayout.cluster(info.name()));
              ByteSequence encoded = StoreCodec.encode(info);
              // The cluster's info is written only when it changed: a reconnect that brings
              // nothing new writes the session key alone.
              return client
                  .getKVClient()
                  .get(clusterKey)
                  .thenCompose(
                      existing -> {
                        boolean same =
                            !existing.getKvs().isEmpty()
                                && existing.getKvs().get(0).getValue().equals(encoded);
                        Op session =
                            Op.put(
                                sessionKey,
                                utf8(token),
                                PutOption.builder().withLeaseId(leaseId).build());
                        return client
                            .getKVClient()
                            .txn()
                            .If(
                                new Cmp(
                                    sessionKey, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
                            .Then(
                                same
                                    ? new Op[] {session}
                                    : new Op[] {
                                      session, Op.put(clusterKey, encoded, PutOption.DEFAULT)
                                    })
                            .commit();
                      });
            })
        .thenCompose(
            response -> {
              if (response.isSucceeded()) {
                return CompletableFuture.completedFuture(null);
              }
              if (attempt >= MAX_CLAIM_ATTEMPTS) {
                return CompletableFuture.failedFuture(new SessionLostException(info.name()));
              }
              return claim(info, leaseId, token, attempt + 1);
            });
  }

  /** The agent identity in a session token {@code <identity>@<replica>/<lease>}. */
  private static String holderOf(String sessionToken) {
    int at = sessionToken.lastIndexOf('@');
    return at < 0 ? "" : sessionToken.substring(0, at);
  }

  private io.etcd.jetcd.support.CloseableClient keepAlive(
      ClusterInfo info, long leaseId, CompletableFuture<Void> lost) {
    return client
        .getLeaseClient()
        .keepAlive(
            leaseId,
            new StreamObserver<LeaseKeepAliveResponse>() {
              @Override
              public void onNext(LeaseKeepAliveResponse response) {}

              @Override
              public void onError(Throwable error) {
                log.warn(
                    "cluster {}: session keep-alive failed, the session is lost: {}",
                    info.name(),
                    error.toString());
                lost.complete(null);
              }

              @Override
              public void onCompleted() {}
            });
  }
}
