package dev.fedmesh.controller.xds;

import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ResourceConsistency;
import dev.fedmesh.controller.configgen.XdsResources;
import dev.fedmesh.controller.model.MeshSnapshot;
import io.envoyproxy.controlplane.cache.SimpleCache;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the mesh over ADS (state-of-the-world and delta) through java-control-plane. Proxies with
 * equal {@link ProxyContext}s form a group that shares one cached snapshot, so a push costs one
 * config generation per group, not per proxy. Versions are content hashes (see {@link
 * XdsSnapshot}): what did not change keeps its version and is not resent, and every replica gives
 * equal config equal versions.
 */
public final class XdsPublisher implements DiscoveryServerCallbacks {
  private static final Logger log = LoggerFactory.getLogger(XdsPublisher.class);

  private final Clock clock;
  private final SimpleCache<String, XdsSnapshot> cache =
      new SimpleCache<>(node -> ProxyContexts.fromNode(node).groupKey()) {};
  private final V3DiscoveryServer server;
  private final Map<String, ProxyContext> groups = new ConcurrentHashMap<>();
  private final Map<Long, StreamState> streams = new ConcurrentHashMap<>();
  private MeshSnapshot mesh = MeshSnapshot.EMPTY;

  public XdsPublisher(Clock clock) {
    this.clock = clock;
    this.server = new V3DiscoveryServer(List.of(this), cache);
  }

  /** The ADS service, to add to the controller's gRPC server. */
  public ServerServiceDefinition service() {
    return ServerInterceptors.intercept(
        server.getAggregatedDiscoveryServiceImpl(), new NodeStickyInterceptor());
  }

  /** Regenerates every known group's snapshot from {@code snapshot}. */
  public synchronized void publish(MeshSnapshot snapshot) {
    this.mesh = snapshot;
    for (ProxyContext context : groups.values()) {
      update(context);
    }
  }

  /** The resources a proxy with {@code context} is served now (for admin and debugging). */
  public synchronized XdsResources resourcesFor(ProxyContext context) {
    return ConfigGenerator.generate(mesh, context);
  }

  /** Every connected proxy's stream status, by node id. */
  public Map<String, ProxyStatus> proxies() {
    Map<String, ProxyStatus> result = new TreeMap<>();
    for (StreamState stream : streams.values()) {
      if (stream.nodeId != null) {
        result.put(stream.nodeId, stream.status());
      }
    }
    return result;
  }

  public int connectedProxies() {
    return (int) streams.values().stream().filter(s -> s.nodeId != null).count();
  }

  private synchronized void ensureGroup(Node node) throws RequestException {
    ProxyContext context;
    try {
      context = ProxyContexts.fromNode(node);
    } catch (IllegalArgumentException e) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
    }
    if (groups.putIfAbsent(context.groupKey(), context) == null) {
      log.info("new proxy group {}", context.groupKey());
      update(context);
    }
  }

  private void update(ProxyContext context) {
    XdsResources resources = ConfigGenerator.generate(mesh, context);
    XdsSnapshot snapshot = new XdsSnapshot(resources);
    List<String> problems = ResourceConsistency.problems(resources);
    if (problems.isEmpty()
        && resources.listeners().values().stream().noneMatch(l -> l.hasApiListener())) {
      // java-control-plane's own check, where it applies (it cannot see into API listeners).
      try {
        Snapshot.create(
                resources.clusters().values(),
                resources.endpoints().values(),
                resources.listeners().values(),
                resources.routes().values(),
                List.of(),
                "consistency-check")
            .ensureConsistent();
      } catch (SnapshotConsistencyException e) {
        problems = List.of(e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      // A bug in config generation; serving it would leave proxies waiting for resources.
      log.error("inconsistent snapshot for group {}, not served: {}", context.groupKey(), problems);
      return;
    }
    cache.setSnapshot(context.groupKey(), snapshot);
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new StreamState(clock.instant()));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    streams.remove(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    streams.remove(streamId);
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    ensureGroup(request.getNode());
    StreamState stream = streams.computeIfAbsent(streamId, id -> new StreamState(clock.instant()));
    stream.onRequest(
        request.getNode(),
        request.getTypeUrl(),
        request.getResponseNonce(),
        request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    ensureGroup(request.getNode());
    StreamState stream = streams.computeIfAbsent(streamId, id -> new StreamState(clock.instant()));
    stream.onRequest(
        request.getNode(),
        request.getTypeUrl(),
        request.getResponseNonce(),
        request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    StreamState stream = streams.get(streamId);
    if (stream != null) {
      stream.onResponse(response.getTypeUrl(), response.getVersionInfo(), response.getNonce());
    }
  }

  @Override
  public void onV3StreamDeltaResponse(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    StreamState stream = streams.get(streamId);
    if (stream != null) {
      stream.onResponse(
          response.getTypeUrl(), response.getSystemVersionInfo(), response.getNonce());
    }
  }

  /** Per-stream bookkeeping; updated from gRPC threads, one stream's calls never overlap. */
  private static final class StreamState {
    private final Instant connectedAt;
    private volatile String nodeId;
    private volatile String group;
    private final Map<String, ProxyStatus.TypeStatus> types = new ConcurrentHashMap<>();

    StreamState(Instant connectedAt) {
      this.connectedAt = connectedAt;
    }

    void onRequest(Node node, String typeUrl, String nonce, String error) {
      if (nodeId == null && node != null) {
        nodeId = node.getId();
        group = ProxyContexts.fromNode(node).groupKey();
      }
      ProxyStatus.TypeStatus sent = types.getOrDefault(typeUrl, empty());
      if (nonce.isEmpty() || !nonce.equals(sent.sentNonce())) {
        return; // an initial request, or an answer to a response that has been superseded
      }
      types.put(
          typeUrl,
          error == null
              ? new ProxyStatus.TypeStatus(
                  sent.sentVersion(),
                  sent.sentNonce(),
                  sent.sentVersion(),
                  sent.nackedVersion(),
                  sent.nackError())
              : new ProxyStatus.TypeStatus(
                  sent.sentVersion(),
                  sent.sentNonce(),
                  sent.ackedVersion(),
                  sent.sentVersion(),
                  error));
    }

    void onResponse(String typeUrl, String version, String nonce) {
      ProxyStatus.TypeStatus previous = types.getOrDefault(typeUrl, empty());
      types.put(
          typeUrl,
          new ProxyStatus.TypeStatus(
              version,
              nonce,
              previous.ackedVersion(),
              previous.nackedVersion(),
              previous.nackError()));
    }

    ProxyStatus status() {
      return new ProxyStatus(nodeId, group, connectedAt, Map.copyOf(types));
    }

    private static ProxyStatus.TypeStatus empty() {
      return new ProxyStatus.TypeStatus("", "", "", "", "");
    }
  }
}
