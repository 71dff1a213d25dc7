package dev.fedmesh.controller.federation;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.AgentTokens;
import dev.fedmesh.controller.store.ClusterClaimedException;
import dev.fedmesh.controller.store.ClusterSession;
import dev.fedmesh.controller.store.EtcdMeshStore;
import dev.fedmesh.controller.store.SessionLostException;
import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Refusal;
import dev.fedmesh.federation.v1.ServiceWithdrawn;
import dev.fedmesh.federation.v1.Welcome;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.FederationCodec;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's end of {@code Federation.Sync}. Each agent stream is handled one message at a
 * time, in order: the next message is requested from the agent only after the previous one is
 * stored, which is the stream's backpressure. A message that fails validation is refused with its
 * reasons and nothing of it is stored; the stream goes on. A write that etcd cannot take closes the
 * stream as UNAVAILABLE: the agent reconnects and resends its state.
 */
public final class FederationService extends FederationGrpc.FederationImplBase {
  private static final Logger log = LoggerFactory.getLogger(FederationService.class);

  private final EtcdMeshStore store;
  private final String replicaId;
  private final ConnectedAgents agents;
  private volatile AgentTokens tokens = AgentTokens.OPEN;

  /** The mesh as last published, or null before the start-up listing is: no imports sent then. */
  private volatile dev.fedmesh.controller.model.MeshSnapshot mesh;

  /** Every cluster's imports as of {@link #mesh}; guarded by itself. */
  private final ServiceImportSets importSets = new ServiceImportSets();

  private final java.util.concurrent.atomic.AtomicReference<
          dev.fedmesh.controller.model.MeshSnapshot>
      pendingImports = new java.util.concurrent.atomic.AtomicReference<>();

  private final java.util.concurrent.ExecutorService importsExecutor =
      java.util.concurrent.Executors.newSingleThreadExecutor(
          dev.fedmesh.model.DaemonThreads.named("federation-imports"));

  /** Streams whose agent was welcomed, to send their cluster's imports to. */
  private final Set<AgentStream> welcomed = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public FederationService(EtcdMeshStore store, String replicaId, ConnectedAgents agents) {
    this.store = requireNonNull(store, "store");
    this.replicaId = requireNonNull(replicaId, "replicaId");
    this.agents = requireNonNull(agents, "agents");
  }

  /** The service with agent authentication in front of it, to add to a gRPC server. */
  public io.grpc.ServerServiceDefinition authenticated(AgentTokens tokens) {
    this.tokens = requireNonNull(tokens, "tokens");
    return io.grpc.ServerInterceptors.intercept(this, new AgentAuthInterceptor(tokens));
  }

  /**
   * Sends every connected agent its cluster's imports ({@link ServiceImportSets}) when they may
   * have changed: a snapshot that changed endpoints only costs a look at each service's shards.
   * Called with each snapshot the model publishes, which always holds a whole listing, so an agent
   * never sees a partial set.
   */
  public void meshChanged(dev.fedmesh.controller.model.MeshSnapshot snapshot) {
    requireNonNull(snapshot, "snapshot");
    // Off the model's thread, which pushes to proxies: the newest snapshot wins.
    if (pendingImports.getAndSet(snapshot) == null) {
      importsExecutor.execute(this::sendImports);
    }
  }

  private void sendImports() {
    dev.fedmesh.controller.model.MeshSnapshot snapshot = pendingImports.getAndSet(null);
    if (snapshot == null) {
      return;
    }
    boolean changed;
    synchronized (importSets) {
      changed = importSets.update(snapshot);
    }
    mesh = snapshot;
    if (!changed) {
      return;
    }
    for (AgentStream stream : welcomed) {
      stream.sendImports();
    }
  }

  /** Stops sending imports (the controller is closing). */
  public void close() {
    importsExecutor.shutdownNow();
  }

  @Override
  public StreamObserver<AgentMessage> sync(StreamObserver<ControllerMessage> responses) {
    ServerCallStreamObserver<ControllerMessage> call =
        (ServerCallStreamObserver<ControllerMessage>) responses;
    call.disableAutoRequest();
    AgentTokens.Identity identity = AgentAuthInterceptor.IDENTITY.get();
    AgentStream stream =
        new AgentStream(call, identity == null ? AgentTokens.Identity.ANONYMOUS : identity);
    stream.grant();
    return stream;
  }

  /**
   * Messages an agent may have in flight: read ahead so that a burst of announcements (an agent
   * connecting, or reconnecting after a failover) is stored in a few transactions, not one each.
   */
  static final int WINDOW = 512;

  /**
   * Read-ahead stops while this many bytes of an agent's messages wait: a service message may be
   * megabytes, and 512 of those would not fit a controller's heap.
   */
  static final long MAX_QUEUED_BYTES = 16L << 20;

  /** At most this many consecutive announcements are stored as one batch. */
  static final int MAX_BATCH = 512;

  /** The end of an agent's stream, queued behind the messages that came before it. */
  private record EndOfStream(Runnable action) {}

  private final class AgentStream implements StreamObserver<AgentMessage> {
    /** The cluster the Hello claimed, for reports of refusals; null before it. */
    private volatile dev.fedmesh.model.ClusterName claimed;

    private final ServerCallStreamObserver<ControllerMessage> call;

    /** Messages (and the stream's end) not yet handled, in order; guarded by {@code this}. */
    private final java.util.ArrayDeque<Object> inbox = new java.util.ArrayDeque<>();

    private boolean draining;

    /** Bytes of the messages in the inbox; guarded by {@code this}. */
    private long queuedBytes;

    /** Messages requested from gRPC and not yet received; guarded by {@code this}. */
    private int outstanding;

    /** Bytes and count of every message received, for their average size; guarded by this. */
    private long seenBytes;

    private long seenMessages;

    private ClusterSession session;
    private final Set<ServiceKey> announced = new HashSet<>();
    private boolean finished;
    private boolean sessionEnded;

    private final AgentTokens.Identity identity;

    AgentStream(ServerCallStreamObserver<ControllerMessage> call, AgentTokens.Identity identity) {
      this.call = call;
      this.identity = identity;
    }

    @Override
    public void onNext(AgentMessage message) {
      synchronized (this) {
        outstanding--;
        queuedBytes += message.getSerializedSize();
        seenBytes += message.getSerializedSize();
        seenMessages++;
      }
      enqueue(message);
    }

    /**
     * Asks gRPC for more messages: up to {@link #WINDOW} in flight, and no more than the messages
     * of the average size seen so far that fit in what is left of {@link #MAX_QUEUED_BYTES} (at
     * least one at a time, so an agent of huge services still progresses). The first grant assumes
     * 32 KiB a message.
     */
    void grant() {
      int more;
      synchronized (this) {
        long average = seenMessages == 0 ? 32 << 10 : Math.max(1, seenBytes / seenMessages);
        long fit = Math.max(0, (MAX_QUEUED_BYTES - queuedBytes) / average - outstanding);
        more = (int) Math.min(WINDOW - outstanding, fit);
        if (outstanding == 0 && queuedBytes == 0) {
          more = Math.max(more, 1);
        }
        more = Math.max(0, more);
        outstanding += more;
      }
      if (more > 0 && !isFinished()) {
        call.request(more);
      }
    }

    private void enqueue(Object item) {
      synchronized (this) {
        inbox.addLast(item);
        if (draining) {
          return;
        }
        draining = true;
      }
      drain();
    }

    /**
     * Handles what the inbox holds, in order: a run of consecutive announcements (services and
     * withdrawals) as one batch, anything else alone. Work that completes at once is looped over,
     * work that waits for etcd continues from its callback, so the stack never grows with the
     * inbox.
     */
    private void drain() {
      while (true) {
        List<AgentMessage> run = new ArrayList<>();
        EndOfStream end = null;
        synchronized (this) {
          Object head = inbox.pollFirst();
          if (head == null) {
            draining = false;
            return;
          }
          if (head instanceof EndOfStream ending) {
            end = ending;
          } else {
            run.add((AgentMessage) head);
            while (session != null
                && batchable(run.get(0))
                && run.size() < MAX_BATCH
                && inbox.peekFirst() instanceof AgentMessage next
                && batchable(next)) {
              run.add((AgentMessage) inbox.pollFirst());
            }
          }
        }
        if (end != null) {
          end.action().run();
          continue;
        }
        CompletableFuture<Void> work;
        try {
          work = run.size() == 1 && !batchable(run.get(0)) ? handle(run.get(0)) : announce(run);
        } catch (RuntimeException e) {
          work = CompletableFuture.failedFuture(e);
        }
        long bytes = run.stream().mapToLong(AgentMessage::getSerializedSize).sum();
        if (work.isDone() && !work.isCompletedExceptionally()) {
          handled(bytes);
          continue;
        }
        work.whenComplete(
            (ignored, error) -> {
              if (error != null) {
                fail(error);
              } else {
                handled(bytes);
              }
              drain();
            });
        return;
      }
    }

    private boolean batchable(AgentMessage message) {
      return session != null
          && (message.getKindCase() == AgentMessage.KindCase.SERVICE
              || message.getKindCase() == AgentMessage.KindCase.WITHDRAWN);
    }

    /** Messages of {@code bytes} are done with: the agent may send more. */
    private void handled(long bytes) {
      synchronized (this) {
        queuedBytes -= bytes;
      }
      grant();
    }

    /**
     * Services and withdrawals, checked one by one (a bad one is refused alone and changes
     * nothing), then stored together: unchanged shards are skipped, the rest written in as few
     * transactions as etcd allows; each accepted message is acknowledged once stored.
     */
    private CompletableFuture<Void> announce(List<AgentMessage> messages) {
      if (isFinished()) {
        return CompletableFuture.completedFuture(null);
      }
      List<ClusterSession.Change> changes = new ArrayList<>();
      List<Long> accepted = new ArrayList<>();
      for (AgentMessage message : messages) {
        Optional<ClusterSession.Change> change =
            message.getKindCase() == AgentMessage.KindCase.SERVICE
                ? service(message)
                : withdrawn(message);
        if (change.isPresent()) {
          changes.add(change.get());
          accepted.add(message.getGeneration());
        }
      }
      if (changes.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      return session
          .write(changes)
          .thenRun(
              () -> {
                for (ClusterSession.Change change : changes) {
                  if (change instanceof ClusterSession.Put) {
                    announced.add(change.service());
                  } else {
                    announced.remove(change.service());
                  }
                }
                accepted.forEach(this::ack);
              });
    }

    private CompletableFuture<Void> handle(AgentMessage message) {
      if (isFinished()) {
        return CompletableFuture.completedFuture(null);
      }
      long generation = message.getGeneration();
      if (session == null && message.getKindCase() != AgentMessage.KindCase.HELLO) {
        refuseAndClose(
            generation, "expected: hello as the first message, got " + message.getKindCase());
        return CompletableFuture.completedFuture(null);
      }
      switch (message.getKindCase()) {
        case HELLO:
          return hello(message);
        case SERVICE:
        case WITHDRAWN:
          return announce(List.of(message));
        case INITIAL_SYNC_COMPLETE:
          return session
              .sweep(Set.copyOf(announced))
              .thenAccept(
                  removed -> {
                    if (removed > 0) {
                      log.info(
                          "cluster {}: swept {} services no longer announced",
                          session.cluster(),
                          removed);
                    }
                    ack(generation);
                  });
        case HEARTBEAT:
          ack(generation);
          return CompletableFuture.completedFuture(null);
        default:
          refuse(
              generation, "kind: " + message.getKindCase() + " (expected: a known message kind)");
          return CompletableFuture.completedFuture(null);
      }
    }

    private CompletableFuture<Void> hello(AgentMessage message) {
      long generation = message.getGeneration();
      if (session != null) {
        refuseAndClose(generation, "hello: sent twice on one stream (expected: once, first)");
        return CompletableFuture.completedFuture(null);
      }
      ClusterInfo info;
      try {
        info = FederationCodec.clusterInfo(message.getHello());
        claimed = info.name();
      } catch (InvalidMessageException e) {
        refuseAndClose(generation, e.getMessage());
        return CompletableFuture.completedFuture(null);
      }
      if (!identity.mayServe(info.name())) {
        refuseAndClose(
            generation,
            "hello.cluster: '"
                + info.name()
                + "' (expected: a cluster agent '"
                + identity.name()
                + "' may speak for, "
                + identity.clusters()
                + ")");
        return CompletableFuture.completedFuture(null);
      }
      Optional<String> gatewayProblem =
          tokens.bounds(info.name()).flatMap(bounds -> bounds.gatewayProblem(info.gateways()));
      if (gatewayProblem.isPresent()) {
        refuseAndClose(generation, gatewayProblem.get());
        return CompletableFuture.completedFuture(null);
      }
      if (identity == AgentTokens.Identity.ANONYMOUS) {
        log.warn(
            "agent for cluster {} connected without authentication (--insecure-any-agent): anyone"
                + " who reaches this port may speak for any cluster",
            info.name());
      }
      return store
          .openSession(info, identity.name())
          .thenAccept(
              opened -> {
                session = opened;
                agents.connected(info.name(), this);
                // etcd kept away past the session's TTL: the agent must reconnect and claim anew.
                opened
                    .lost()
                    .thenRun(
                        () -> {
                          if (!isFinished()) {
                            fail(new SessionLostException(info.name()));
                          }
                        });
                log.info(
                    "cluster {} connected (network {}, {})",
                    info.name(),
                    info.network(),
                    info.locality());
                send(
                    ControllerMessage.newBuilder()
                        .setWelcome(
                            Welcome.newBuilder()
                                .setControllerReplica(replicaId)
                                .setSessionLease(opened.leaseId()))
                        .build());
                ack(generation);
                welcomed.add(this);
                if (mesh != null) {
                  sendImports();
                }
              });
    }

    /** The imports last sent on this stream; guarded by {@code this}. */
    private dev.fedmesh.federation.v1.ServiceImports importsSent;

    void sendImports() {
      ClusterSession current = session;
      if (current == null) {
        return;
      }
      dev.fedmesh.federation.v1.ServiceImports imports;
      synchronized (importSets) {
        imports = importSets.of(current.cluster());
      }
      synchronized (this) {
        if (imports.equals(importsSent)) {
          return;
        }
        importsSent = imports;
      }
      send(ControllerMessage.newBuilder().setImports(imports).build());
    }

    /** The shard a service message announces, or empty (and refused) when it is not valid. */
    private Optional<ClusterSession.Change> service(AgentMessage message) {
      long generation = message.getGeneration();
      ServiceEndpoints shard;
      try {
        shard = FederationCodec.serviceEndpoints(session.cluster(), message.getService());
      } catch (InvalidMessageException e) {
        refuse(generation, e.getMessage());
        return Optional.empty();
      }
      // What this cluster may announce: the service keeps its last accepted state otherwise.
      Optional<String> outside =
          tokens.bounds(session.cluster()).flatMap(bounds -> bounds.endpointProblem(shard));
      if (outside.isPresent()) {
        refuse(generation, outside.get());
        return Optional.empty();
      }
      return Optional.of(new ClusterSession.Put(shard));
    }

    /** The service a withdrawal names, or empty (and refused) when it is not valid. */
    private Optional<ClusterSession.Change> withdrawn(AgentMessage message) {
      ServiceWithdrawn withdrawn = message.getWithdrawn();
      try {
        return Optional.of(
            new ClusterSession.Withdraw(
                ServiceKey.of(withdrawn.getNamespace(), withdrawn.getName())));
      } catch (IllegalArgumentException e) {
        refuse(message.getGeneration(), "withdrawn." + e.getMessage());
        return Optional.empty();
      }
    }

    private void ack(long generation) {
      send(
          ControllerMessage.newBuilder()
              .setAck(Ack.newBuilder().setGeneration(generation))
              .build());
    }

    private void refuse(long generation, String reason) {
      log.warn("refused message {} from {}: {}", generation, clusterName(), reason);
      if (session != null) {
        agents.refused(session.cluster(), reason);
      }
      send(
          ControllerMessage.newBuilder()
              .setRefusal(Refusal.newBuilder().setGeneration(generation).setReason(reason))
              .build());
    }

    private void refuseAndClose(long generation, String reason) {
      log.warn("closing stream of {}: {}", clusterName(), reason);
      if (claimed != null) {
        agents.refused(claimed, reason);
      }
      synchronized (this) {
        if (finished) {
          return;
        }
        call.onNext(
            ControllerMessage.newBuilder()
                .setRefusal(
                    Refusal.newBuilder().setGeneration(generation).setReason(reason).setFatal(true))
                .build());
        finished = true;
        call.onError(Status.INVALID_ARGUMENT.withDescription(reason).asRuntimeException());
      }
      endSession();
    }

    private void fail(Throwable error) {
      Throwable cause =
          error instanceof CompletionException && error.getCause() != null
              ? error.getCause()
              : error;
      Status status;
      if (cause instanceof SessionLostException) {
        status = Status.ABORTED.withDescription(cause.getMessage());
      } else if (cause instanceof ClusterClaimedException) {
        status = Status.PERMISSION_DENIED.withDescription(cause.getMessage());
        send(
            ControllerMessage.newBuilder()
                .setRefusal(Refusal.newBuilder().setReason(cause.getMessage()).setFatal(true))
                .build());
      } else {
        status = Status.UNAVAILABLE.withDescription("store write failed: " + cause);
      }
      log.warn("closing stream of {}: {}", clusterName(), status.getDescription());
      synchronized (this) {
        if (!finished) {
          finished = true;
          call.onError(status.asRuntimeException());
        }
      }
      endSession();
    }

    private synchronized void send(ControllerMessage message) {
      if (!finished && !call.isCancelled()) {
        call.onNext(message);
      }
    }

    private synchronized boolean isFinished() {
      return finished;
    }

    private String clusterName() {
      return session == null ? "(unidentified agent)" : "cluster " + session.cluster();
    }

    @Override
    public void onError(Throwable error) {
      log.info("{} disconnected: {}", clusterName(), Status.fromThrowable(error));
      enqueue(new EndOfStream(this::endSession));
    }

    @Override
    public void onCompleted() {
      enqueue(
          new EndOfStream(
              () -> {
                synchronized (this) {
                  if (!finished) {
                    finished = true;
                    call.onCompleted();
                  }
                }
                endSession();
              }));
    }

    private void endSession() {
      welcomed.remove(this);
      ClusterSession ending;
      synchronized (this) {
        finished = true;
        ending = sessionEnded ? null : session;
        sessionEnded = true;
      }
      if (ending != null) {
        agents.disconnected(ending.cluster(), this);
        ending.close();
      }
    }
  }
}
