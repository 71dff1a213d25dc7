package dev.fedmesh.agent.federation;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Heartbeat;
import dev.fedmesh.federation.v1.InitialSyncComplete;
import dev.fedmesh.federation.v1.ServiceWithdrawn;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.FederationCodec;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's end of {@code Federation.Sync}: one stream to one controller replica at a time
 * (trying the replicas in turn), carrying the cluster's state. On every (re)connect it says Hello,
 * sends every service, then InitialSyncComplete; afterwards it sends a service's full state
 * whenever it changes, and heartbeats. A broken stream is retried forever with {@link Backoff}.
 *
 * <p>The controller may send the set of services the cluster imports ({@code ServiceImports}, the
 * whole set each time it changes); the client validates it ({@link ImportsCodec}) and hands it to
 * an {@link ImportsListener}. Until a controller sends one, the listener hears nothing: an agent
 * that has not heard from a controller does not know what its cluster imports.
 *
 * <p>All state is confined to {@code executor}.
 */
public final class FederationClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FederationClient.class);

  /** Hears the set of services the cluster imports, each time a controller sends it. */
  @FunctionalInterface
  public interface ImportsListener {
    /** Called on the client's executor; must not block it. */
    void onImports(ServiceImportSet imports);
  }

  private final List<FederationGrpc.FederationStub> stubs;
  private int nextStub;
  private final ClusterInfo cluster;
  private final ScheduledExecutorService executor;
  private static final int MAX_REFUSALS_KEPT = 20;
  private final java.util.ArrayDeque<String> refusals = new java.util.ArrayDeque<>();
  private final Backoff backoff;
  private final Duration heartbeatInterval;
  private final ImportsListener imports;

  private Map<ServiceKey, ServiceEndpoints> desired;
  private final Map<ServiceKey, ServiceEndpoints> sent = new HashMap<>();
  private StreamObserver<AgentMessage> stream;
  private ScheduledFuture<?> heartbeat;
  private long generation;
  private volatile long ackedGeneration;
  private volatile long sentGeneration;
  private volatile boolean welcomed;
  private volatile String controllerReplica = "";
  private boolean closed;

  public FederationClient(
      List<? extends Channel> controllers,
      ClusterInfo cluster,
      ScheduledExecutorService executor,
      Backoff backoff,
      Duration heartbeatInterval) {
    this(controllers, cluster, executor, backoff, heartbeatInterval, imports -> {});
  }

  /**
   * @param imports hears the controller's import sets (for a source without an API server to write
   *     ServiceImports to, one that ignores them)
   */
  public FederationClient(
      List<? extends Channel> controllers,
      ClusterInfo cluster,
      ScheduledExecutorService executor,
      Backoff backoff,
      Duration heartbeatInterval,
      ImportsListener imports) {
    if (controllers.isEmpty()) {
      throw new IllegalArgumentException("controllers: none (expected: at least one)");
    }
    this.stubs = controllers.stream().map(FederationGrpc::newStub).toList();
    this.cluster = requireNonNull(cluster, "cluster");
    this.executor = requireNonNull(executor, "executor");
    this.backoff = requireNonNull(backoff, "backoff");
    this.heartbeatInterval = requireNonNull(heartbeatInterval, "heartbeatInterval");
    this.imports = requireNonNull(imports, "imports");
  }

  /**
   * The cluster's complete current services. The first call opens the stream: the agent never
   * connects before it knows its state, or the controller would sweep what it has not yet sent.
   */
  public void update(Map<ServiceKey, ServiceEndpoints> services) {
    Map<ServiceKey, ServiceEndpoints> copy = Map.copyOf(services);
    executor.execute(
        () -> {
          boolean first = desired == null;
          desired = copy;
          if (first) {
            connect();
          } else if (stream != null) {
            sendChanges();
          }
        });
  }

  /** Whether the controller welcomed the current stream. */
  public boolean isConnected() {
    return welcomed;
  }

  /** The controller's latest reasons for refusing what this agent sent, oldest first. */
  public java.util.List<String> refusals() {
    synchronized (refusals) {
      return java.util.List.copyOf(refusals);
    }
  }

  /** The replica the current stream is connected to, or empty. */
  public String controllerReplica() {
    return controllerReplica;
  }

  /** Whether the controller has stored everything sent on the current stream. */
  public boolean isInSync() {
    return welcomed && ackedGeneration == sentGeneration;
  }

  private void connect() {
    if (closed) {
      return;
    }
    generation = 0;
    ackedGeneration = 0;
    sent.clear();
    welcomed = false;
    ResponseObserver responses = new ResponseObserver();
    // Each attempt goes to the next replica: a replica that just failed is tried last.
    FederationGrpc.FederationStub stub = stubs.get(nextStub);
    nextStub = (nextStub + 1) % stubs.size();
    stream = stub.sync(responses);
    responses.bind(stream);
    send(AgentMessage.newBuilder().setHello(FederationCodec.hello(cluster)));
    sendChanges();
    send(
        AgentMessage.newBuilder().setInitialSyncComplete(InitialSyncComplete.getDefaultInstance()));
    heartbeat =
        executor.scheduleAtFixedRate(
            () -> {
              if (stream != null) {
                send(AgentMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()));
              }
            },
            heartbeatInterval.toMillis(),
            heartbeatInterval.toMillis(),
            TimeUnit.MILLISECONDS);
  }

  /** Sends each service whose state differs from what this stream last sent. */
  private void sendChanges() {
    for (Map.Entry<ServiceKey, ServiceEndpoints> entry : desired.entrySet()) {
      if (!entry.getValue().equals(sent.get(entry.getKey()))) {
        send(AgentMessage.newBuilder().setService(FederationCodec.serviceState(entry.getValue())));
        sent.put(entry.getKey(), entry.getValue());
      }
    }
    for (ServiceKey key : Map.copyOf(sent).keySet()) {
      if (!desired.containsKey(key)) {
        send(
            AgentMessage.newBuilder()
                .setWithdrawn(
                    ServiceWithdrawn.newBuilder()
                        .setNamespace(key.namespace())
                        .setName(key.name())));
        sent.remove(key);
      }
    }
  }

  private void send(AgentMessage.Builder message) {
    long next = ++generation;
    sentGeneration = next;
    stream.onNext(message.setGeneration(next).build());
  }

  private void streamEnded(StreamObserver<AgentMessage> ended, Status status) {
    if (stream != ended) {
      return;
    }
    stream = null;
    welcomed = false;
    controllerReplica = "";
    if (heartbeat != null) {
      heartbeat.cancel(false);
    }
    if (closed) {
      return;
    }
    Duration delay = backoff.next();
    log.warn(
        "federation stream ended ({}: {}); reconnecting in {} ms",
        status.getCode(),
        status.getDescription(),
        delay.toMillis());
    executor.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Runs {@code task} on the executor; after {@link #close()} the executor may be gone. */
  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException shutDown) {
      log.debug("agent stopped; dropping a late stream event");
    }
  }

  private final class ResponseObserver implements StreamObserver<ControllerMessage> {
    // Set by connect() on the executor, possibly after gRPC has already called back (a call on a
    // failing channel can fail before sync() returns): read it only inside tasks on the executor.
    private StreamObserver<AgentMessage> requests;

    void bind(StreamObserver<AgentMessage> requests) {
      this.requests = requests;
    }

    @Override
    public void onNext(ControllerMessage message) {
      switch (message.getKindCase()) {
        case WELCOME -> {
          controllerReplica = message.getWelcome().getControllerReplica();
          welcomed = true;
          onExecutor(backoff::reset);
          log.info("connected to controller {}", controllerReplica);
        }
        case ACK -> {
          long acked = message.getAck().getGeneration();
          onExecutor(
              () -> {
                if (stream == requests) {
                  ackedGeneration = Math.max(ackedGeneration, acked);
                }
              });
        }
        case REFUSAL -> {
          log.warn(
              "controller refused message {}: {}",
              message.getRefusal().getGeneration(),
              message.getRefusal().getReason());
          synchronized (refusals) {
            refusals.addLast(message.getRefusal().getReason());
            while (refusals.size() > MAX_REFUSALS_KEPT) {
              refusals.removeFirst();
            }
          }
        }
        case IMPORTS -> {
          ServiceImportSet set = ImportsCodec.decode(message.getImports());
          onExecutor(
              () -> {
                // Only the current stream's controller speaks for the mesh now.
                if (stream == requests && !closed) {
                  imports.onImports(set);
                }
              });
        }
        default -> log.debug("ignoring controller message {}", message.getKindCase());
      }
    }

    @Override
    public void onError(Throwable error) {
      onExecutor(() -> streamEnded(requests, Status.fromThrowable(error)));
    }

    @Override
    public void onCompleted() {
      onExecutor(
          () -> streamEnded(requests, Status.UNAVAILABLE.withDescription("controller closed")));
    }
  }

  @Override
  public void close() {
    onExecutor(
        () -> {
          closed = true;
          welcomed = false;
          if (heartbeat != null) {
            heartbeat.cancel(false);
          }
          if (stream != null) {
            stream.onCompleted();
            stream = null;
          }
        });
  }
}
