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
import java.util.HashSet;
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

  @Override
  public StreamObserver<AgentMessage> sync(StreamObserver<ControllerMessage> responses) {
    ServerCallStreamObserver<ControllerMessage> call =
        (ServerCallStreamObserver<ControllerMessage>) responses;
    call.disableAutoRequest();
    AgentTokens.Identity identity = AgentAuthInterceptor.IDENTITY.get();
    AgentStream stream =
        new AgentStream(call, identity == null ? AgentTokens.Identity.ANONYMOUS : identity);
    call.request(1);
    return stream;
  }

  private final class AgentStream implements StreamObserver<AgentMessage> {
    /** The cluster the Hello claimed, for reports of refusals; null before it. */
    private volatile dev.fedmesh.model.ClusterName claimed;

    private final ServerCallStreamObserver<ControllerMessage> call;
    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
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
      tail =
          tail.thenCompose(ignored -> handle(message))
              .handle(
                  (ignored, error) -> {
                    if (error != null) {
                      fail(error);
                    } else if (!isFinished()) {
                      call.request(1);
                    }
                    return null;
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
          return service(message);
        case WITHDRAWN:
          return withdrawn(message);
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
              });
    }

    private CompletableFuture<Void> service(AgentMessage message) {
      long generation = message.getGeneration();
      ServiceEndpoints shard;
      try {
        shard = FederationCodec.serviceEndpoints(session.cluster(), message.getService());
      } catch (InvalidMessageException e) {
        refuse(generation, e.getMessage());
        return CompletableFuture.completedFuture(null);
      }
      // What this cluster may announce: the service keeps its last accepted state otherwise.
      Optional<String> outside =
          tokens.bounds(session.cluster()).flatMap(bounds -> bounds.endpointProblem(shard));
      if (outside.isPresent()) {
        refuse(generation, outside.get());
        return CompletableFuture.completedFuture(null);
      }
      return session
          .put(shard)
          .thenRun(
              () -> {
                announced.add(shard.service());
                ack(generation);
              });
    }

    private CompletableFuture<Void> withdrawn(AgentMessage message) {
      long generation = message.getGeneration();
      ServiceWithdrawn withdrawn = message.getWithdrawn();
      ServiceKey key;
      try {
        key = ServiceKey.of(withdrawn.getNamespace(), withdrawn.getName());
      } catch (IllegalArgumentException e) {
        refuse(generation, "withdrawn." + e.getMessage());
        return CompletableFuture.completedFuture(null);
      }
      return session
          .withdraw(key)
          .thenRun(
              () -> {
                announced.remove(key);
                ack(generation);
              });
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
      tail = tail.whenComplete((ignored, e) -> endSession());
    }

    @Override
    public void onCompleted() {
      tail =
          tail.whenComplete(
              (ignored, e) -> {
                synchronized (this) {
                  if (!finished) {
                    finished = true;
                    call.onCompleted();
                  }
                }
                endSession();
              });
    }

    private void endSession() {
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
