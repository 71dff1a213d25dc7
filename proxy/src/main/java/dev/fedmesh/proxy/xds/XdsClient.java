package dev.fedmesh.proxy.xds;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Code;
import dev.fedmesh.model.Backoff;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's xDS client: one aggregated stream (ADS, state of the world or delta) to one
 * controller replica at a time. Clusters and listeners are watched whole; endpoints and routes by
 * the names the accepted clusters and listeners reference. Every resource is checked on its own:
 * valid ones are used, invalid ones are named in the NACK and the last good version of each stays
 * in use. The config handed on follows Envoy's warming rules (a cluster waits for its endpoints, a
 * listener for its routes). While no controller is reachable, the last good config keeps running
 * and the client reconnects with jittered backoff, trying the replicas in turn.
 *
 * <p>All state is confined to {@code executor}.
 */
public final class XdsClient implements AutoCloseable {
  /** The two ADS variants: whole state per type, or incremental per resource. */
  public enum Protocol {
    STATE_OF_THE_WORLD,
    DELTA
  }

  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

  private static final Logger log = LoggerFactory.getLogger(XdsClient.class);

  private final List<AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub> stubs;
  private final Node node;
  private final ScheduledExecutorService executor;
  private final Backoff backoff;
  private final Consumer<ProxyConfig> onConfig;
  private final Protocol protocol;

  private final Map<String, TypeState<?>> types = new LinkedHashMap<>();
  private int nextStub;
  private StreamObserver<DiscoveryRequest> stream;
  private StreamObserver<DeltaDiscoveryRequest> deltaStream;
  private boolean nodeSent;
  private boolean closed;
  private volatile boolean connected;
  private volatile ProxyConfig current = ProxyConfig.EMPTY;
  private volatile String lastError = "";

  private XdsClient(
      List<? extends Channel> controllers,
      Node node,
      ScheduledExecutorService executor,
      Backoff backoff,
      Consumer<ProxyConfig> onConfig,
      Protocol protocol) {
    if (controllers.isEmpty()) {
      throw new IllegalArgumentException("controllers: none (expected: at least one)");
    }
    this.stubs = controllers.stream().map(AggregatedDiscoveryServiceGrpc::newStub).toList();
    this.node = requireNonNull(node, "node");
    this.executor = requireNonNull(executor, "executor");
    this.backoff = requireNonNull(backoff, "backoff");
    this.onConfig = requireNonNull(onConfig, "onConfig");
    this.protocol = requireNonNull(protocol, "protocol");
    types.put(CDS, new TypeState<>(Cluster.class, XdsResourceRules::check, Cluster::getName, true));
    types.put(
        LDS, new TypeState<>(Listener.class, XdsResourceRules::check, Listener::getName, true));
    types.put(
        EDS,
        new TypeState<>(
            ClusterLoadAssignment.class,
            XdsResourceRules::check,
            ClusterLoadAssignment::getClusterName,
            false));
    types.put(
        RDS,
        new TypeState<>(
            RouteConfiguration.class, XdsResourceRules::check, RouteConfiguration::getName, false));
  }

  /** Starts watching; {@code onConfig} runs on {@code executor} each time the config changes. */
  public static XdsClient start(
      List<? extends Channel> controllers,
      Node node,
      ScheduledExecutorService executor,
      Backoff backoff,
      Consumer<ProxyConfig> onConfig) {
    return start(controllers, node, executor, backoff, onConfig, Protocol.STATE_OF_THE_WORLD);
  }

  /** Starts watching over the given ADS variant. */
  public static XdsClient start(
      List<? extends Channel> controllers,
      Node node,
      ScheduledExecutorService executor,
      Backoff backoff,
      Consumer<ProxyConfig> onConfig,
      Protocol protocol) {
    XdsClient client = new XdsClient(controllers, node, executor, backoff, onConfig, protocol);
    executor.execute(client::connect);
    return client;
  }

  /** The config in use now. */
  public ProxyConfig current() {
    return current;
  }

  /** Whether a stream is open and has delivered a response. */
  public boolean isConnected() {
    return connected;
  }

  /** The last rejection this client sent, for status pages. */
  public String lastError() {
    return lastError;
  }

  private void connect() {
    if (closed) {
      return;
    }
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = stubs.get(nextStub);
    nextStub = (nextStub + 1) % stubs.size();
    nodeSent = false;
    if (protocol == Protocol.DELTA) {
      connectDelta(stub);
      return;
    }
    StreamObserver<DiscoveryRequest>[] self = newStreamArray();
    self[0] =
        stub.streamAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse response) {
                run(() -> onResponse(self[0], response));
              }

              @Override
              public void onError(Throwable error) {
                run(() -> onStreamEnd(self[0], Status.fromThrowable(error)));
              }

              @Override
              public void onCompleted() {
                run(
                    () ->
                        onStreamEnd(self[0], Status.UNAVAILABLE.withDescription("server closed")));
              }
            });
    stream = self[0];
    // Resume where the last stream left off: the versions we hold and the names we watch.
    for (Map.Entry<String, TypeState<?>> entry : types.entrySet()) {
      TypeState<?> state = entry.getValue();
      if (state.wildcard || !state.names.isEmpty()) {
        send(entry.getKey(), state, state.version, "", null);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static StreamObserver<DiscoveryRequest>[] newStreamArray() {
    return new StreamObserver[1];
  }

  private void onResponse(StreamObserver<DiscoveryRequest> from, DiscoveryResponse response) {
    if (from != stream) {
      return;
    }
    markConnected();
    TypeState<?> state = types.get(response.getTypeUrl());
    if (state == null) {
      send(
          response.getTypeUrl(),
          null,
          "",
          response.getNonce(),
          "type: " + response.getTypeUrl() + " (expected: one the proxy asked for)");
      return;
    }
    List<String> problems = state.apply(response);
    if (problems.isEmpty()) {
      state.version = response.getVersionInfo();
      send(response.getTypeUrl(), state, state.version, response.getNonce(), null);
    } else {
      String error = String.join("; ", problems);
      lastError = error;
      log.warn(
          "rejected {} version {}: {}",
          shortName(response.getTypeUrl()),
          response.getVersionInfo(),
          error);
      send(response.getTypeUrl(), state, state.version, response.getNonce(), error);
    }
    updateSubscriptions();
    publish();
  }

  /** Watches the endpoints and routes that accepted clusters and listeners reference. */
  private void updateSubscriptions() {
    TreeSet<String> edsNames = new TreeSet<>();
    for (Message resource : types.get(CDS).accepted.values()) {
      Cluster cluster = (Cluster) resource;
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        edsNames.add(XdsResourceRules.edsName(cluster));
      }
    }
    TreeSet<String> rdsNames = new TreeSet<>();
    for (Message resource : types.get(LDS).accepted.values()) {
      rdsNames.addAll(XdsResourceRules.rdsNames((Listener) resource));
    }
    resubscribe(EDS, edsNames);
    resubscribe(RDS, rdsNames);
  }

  private void resubscribe(String typeUrl, TreeSet<String> names) {
    TypeState<?> state = types.get(typeUrl);
    if (state.names.equals(names)) {
      return;
    }
    TreeSet<String> added = new TreeSet<>(names);
    added.removeAll(state.names);
    TreeSet<String> removed = new TreeSet<>(state.names);
    removed.removeAll(names);
    state.names = names;
    state.accepted.keySet().retainAll(names);
    state.versions.keySet().retainAll(names);
    if (protocol == Protocol.DELTA) {
      sendDelta(
          DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(typeUrl)
              .addAllResourceNamesSubscribe(added)
              .addAllResourceNamesUnsubscribe(removed));
    } else {
      send(typeUrl, state, state.version, state.nonce, null);
    }
  }

  // --- Delta (incremental) ADS: the server sends only what changed, per resource. ---

  private void connectDelta(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub) {
    @SuppressWarnings("unchecked")
    StreamObserver<DeltaDiscoveryRequest>[] self = new StreamObserver[1];
    self[0] =
        stub.deltaAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DeltaDiscoveryResponse response) {
                run(() -> onDeltaResponse(self[0], response));
              }

              @Override
              public void onError(Throwable error) {
                run(() -> onStreamEnd(self[0], Status.fromThrowable(error)));
              }

              @Override
              public void onCompleted() {
                run(
                    () ->
                        onStreamEnd(self[0], Status.UNAVAILABLE.withDescription("server closed")));
              }
            });
    deltaStream = self[0];
    // Resume: the names we watch and the version of each resource we hold, so the server sends
    // only what changed while we were away.
    for (Map.Entry<String, TypeState<?>> entry : types.entrySet()) {
      TypeState<?> state = entry.getValue();
      if (state.wildcard || !state.names.isEmpty()) {
        DeltaDiscoveryRequest.Builder request =
            DeltaDiscoveryRequest.newBuilder()
                .setTypeUrl(entry.getKey())
                .putAllInitialResourceVersions(state.versions);
        if (state.wildcard) {
          request.addResourceNamesSubscribe("*");
        } else {
          request.addAllResourceNamesSubscribe(state.names);
        }
        sendDelta(request);
      }
    }
  }

  private void onDeltaResponse(
      StreamObserver<DeltaDiscoveryRequest> from, DeltaDiscoveryResponse response) {
    if (from != deltaStream) {
      return;
    }
    markConnected();
    TypeState<?> state = types.get(response.getTypeUrl());
    DeltaDiscoveryRequest.Builder ack =
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(response.getTypeUrl())
            .setResponseNonce(response.getNonce());
    if (state == null) {
      sendDelta(
          ack.setErrorDetail(
              rejection(
                  "type: " + response.getTypeUrl() + " (expected: one the proxy asked for)")));
      return;
    }
    List<String> problems = state.applyDelta(response);
    if (!problems.isEmpty()) {
      String error = String.join("; ", problems);
      lastError = error;
      log.warn("rejected {} resources: {}", shortName(response.getTypeUrl()), error);
      ack.setErrorDetail(rejection(error));
    }
    sendDelta(ack);
    updateSubscriptions();
    publish();
  }

  private void sendDelta(DeltaDiscoveryRequest.Builder request) {
    if (deltaStream == null) {
      return;
    }
    if (!nodeSent) {
      request.setNode(node);
      nodeSent = true;
    }
    deltaStream.onNext(request.build());
  }

  private void publish() {
    Map<String, Cluster> clusters = new HashMap<>();
    Map<String, ClusterLoadAssignment> endpoints = new HashMap<>();
    for (Message resource : types.get(CDS).accepted.values()) {
      Cluster cluster = (Cluster) resource;
      if (cluster.getType() != Cluster.DiscoveryType.EDS) {
        clusters.put(cluster.getName(), cluster);
        continue;
      }
      ClusterLoadAssignment assignment =
          (ClusterLoadAssignment) types.get(EDS).accepted.get(XdsResourceRules.edsName(cluster));
      if (assignment != null) {
        // Warming: a cluster is used only once its endpoints are known.
        clusters.put(cluster.getName(), cluster);
        endpoints.put(assignment.getClusterName(), assignment);
      }
    }
    Map<String, RouteConfiguration> routes = new HashMap<>();
    types
        .get(RDS)
        .accepted
        .forEach((name, resource) -> routes.put(name, (RouteConfiguration) resource));
    Map<String, Listener> listeners = new HashMap<>();
    for (Message resource : types.get(LDS).accepted.values()) {
      Listener listener = (Listener) resource;
      // Warming: a listener is used only once every route configuration it names is known.
      if (routes.keySet().containsAll(XdsResourceRules.rdsNames(listener))) {
        listeners.put(listener.getName(), listener);
      }
    }
    ProxyConfig next = new ProxyConfig(listeners, routes, clusters, endpoints);
    if (!next.equals(current)) {
      current = next;
      onConfig.accept(next);
    }
  }

  private void send(
      String typeUrl, TypeState<?> state, String version, String nonce, String error) {
    if (stream == null) {
      return;
    }
    DiscoveryRequest.Builder request =
        DiscoveryRequest.newBuilder()
            .setTypeUrl(typeUrl)
            .setVersionInfo(version)
            .setResponseNonce(nonce);
    if (state != null) {
      state.nonce = nonce.isEmpty() ? state.nonce : nonce;
      request.addAllResourceNames(state.names);
    }
    if (!nodeSent) {
      request.setNode(node);
      nodeSent = true;
    }
    if (error != null) {
      request.setErrorDetail(rejection(error));
    }
    stream.onNext(request.build());
  }

  /** Either kind of stream ended: keep the config, reconnect after a back-off. */
  private void onStreamEnd(StreamObserver<?> ended, Status status) {
    if (ended == stream) {
      stream = null;
    } else if (ended == deltaStream) {
      deltaStream = null;
    } else {
      return; // an older stream's late end
    }
    connected = false;
    if (closed) {
      return;
    }
    Duration delay = backoff.next();
    log.warn(
        "xDS stream ended ({} {}); keeping the last config, reconnecting in {} ms",
        status.getCode(),
        Objects.toString(status.getDescription(), ""),
        delay.toMillis());
    executor.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void markConnected() {
    if (!connected) {
      connected = true;
      backoff.reset();
    }
  }

  /** The error detail of a NACK. */
  private static com.google.rpc.Status rejection(String message) {
    return com.google.rpc.Status.newBuilder()
        .setCode(Code.INVALID_ARGUMENT_VALUE)
        .setMessage(message)
        .build();
  }

  private void run(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException shutDown) {
      log.debug("xDS client stopped; dropping a late stream event");
    }
  }

  private static String shortName(String typeUrl) {
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
  }

  @Override
  public void close() {
    run(
        () -> {
          closed = true;
          connected = false;
          if (stream != null) {
            stream.onCompleted();
            stream = null;
          }
          if (deltaStream != null) {
            deltaStream.onCompleted();
            deltaStream = null;
          }
        });
  }

  /** What the client holds of one resource type. */
  private static final class TypeState<T extends Message> {
    private final Class<T> type;
    private final Function<T, List<String>> rules;
    private final Function<T, String> nameOf;

    /** Clusters and listeners are watched whole (state of the world); the rest by name. */
    private final boolean wildcard;

    private final Map<String, Message> accepted = new HashMap<>();

    /** Delta only: the version of each accepted resource, sent back when resuming. */
    private final Map<String, String> versions = new HashMap<>();

    private TreeSet<String> names = new TreeSet<>();
    private String version = "";
    private String nonce = "";

    TypeState(
        Class<T> type,
        Function<T, List<String>> rules,
        Function<T, String> nameOf,
        boolean wildcard) {
      this.type = type;
      this.rules = rules;
      this.nameOf = nameOf;
      this.wildcard = wildcard;
    }

    /** Takes in a response's valid resources; returns the problems of the invalid ones. */
    List<String> apply(DiscoveryResponse response) {
      List<String> problems = new ArrayList<>();
      Map<String, Message> valid = new HashMap<>();
      TreeSet<String> seen = new TreeSet<>();
      for (int i = 0; i < response.getResourcesCount(); i++) {
        Any any = response.getResources(i);
        T resource;
        try {
          resource = any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
          problems.add(
              "resources[" + i + "]: not a " + type.getSimpleName() + " (" + e.getMessage() + ")");
          continue;
        }
        String name = nameOf.apply(resource);
        seen.add(name);
        List<String> resourceProblems = rules.apply(resource);
        if (resourceProblems.isEmpty()) {
          valid.put(name, resource);
        } else {
          problems.addAll(resourceProblems);
        }
      }
      if (wildcard) {
        // State of the world: what the response omits no longer exists. What it sends invalid
        // keeps its last good version.
        accepted.keySet().retainAll(seen);
      }
      accepted.putAll(valid);
      return problems;
    }

    /**
     * Takes in a delta response: valid resources replace their previous version, invalid ones keep
     * it, removed ones go. Returns the problems of the invalid ones.
     */
    List<String> applyDelta(DeltaDiscoveryResponse response) {
      List<String> problems = new ArrayList<>();
      for (int i = 0; i < response.getResourcesCount(); i++) {
        Resource wrapped = response.getResources(i);
        T resource;
        try {
          resource = wrapped.getResource().unpack(type);
        } catch (InvalidProtocolBufferException e) {
          problems.add(
              "resources["
                  + i
                  + "] '"
                  + wrapped.getName()
                  + "': not a "
                  + type.getSimpleName()
                  + " ("
                  + e.getMessage()
                  + ")");
          continue;
        }
        String name = nameOf.apply(resource);
        if (!wildcard && !names.contains(name)) {
          continue; // not (or no longer) subscribed
        }
        List<String> resourceProblems = rules.apply(resource);
        if (resourceProblems.isEmpty()) {
          accepted.put(name, resource);
          versions.put(name, wrapped.getVersion());
        } else {
          problems.addAll(resourceProblems);
        }
      }
      for (String removed : response.getRemovedResourcesList()) {
        accepted.remove(removed);
        versions.remove(removed);
      }
      return problems;
    }
  }
}
