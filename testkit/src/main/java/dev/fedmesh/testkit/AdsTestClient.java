package dev.fedmesh.testkit;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A minimal state-of-the-world ADS client for tests: subscribes to named resources, records every
 * response, and ACKs each one unless told to reject it. It is how tests watch exactly what the
 * controller sends, message by message.
 */
public final class AdsTestClient implements AutoCloseable {
  public static final String EDS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private final ManagedChannel channel;
  private final Node node;
  private final List<DiscoveryResponse> responses = new CopyOnWriteArrayList<>();
  private final Map<String, List<String>> subscriptions = new ConcurrentHashMap<>();
  private volatile Predicate<DiscoveryResponse> reject = response -> false;
  private volatile StreamObserver<DiscoveryRequest> requests;
  private volatile boolean closed;
  private final List<io.grpc.Status> streamErrors = new CopyOnWriteArrayList<>();

  public AdsTestClient(int port, String nodeId, String cluster, String region, String zone) {
    this(
        NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build(),
        nodeId,
        cluster,
        region,
        zone,
        Map.of("FEDMESH_ROLE", "grpc"));
  }

  /**
   * A client over {@code channel} (which it owns and shuts down), announcing a node with these
   * string metadata fields (the controller reads FEDMESH_ROLE, NAMESPACE, SERVICE_ACCOUNT, ...).
   */
  public AdsTestClient(
      ManagedChannel channel,
      String nodeId,
      String cluster,
      String region,
      String zone,
      Map<String, String> metadata) {
    this.channel = channel;
    Struct.Builder fields = Struct.newBuilder();
    metadata.forEach(
        (key, value) -> fields.putFields(key, Value.newBuilder().setStringValue(value).build()));
    node =
        Node.newBuilder()
            .setId(nodeId)
            .setCluster(cluster)
            .setLocality(Locality.newBuilder().setRegion(region).setZone(zone))
            .setMetadata(fields)
            .build();
    open();
  }

  private synchronized void open() {
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DiscoveryResponse response) {
                    responses.add(response);
                    answer(response);
                  }

                  @Override
                  public void onError(Throwable error) {
                    // As Envoy and gRPC do: keep what was received, open a new stream soon.
                    streamErrors.add(io.grpc.Status.fromThrowable(error));
                    if (!closed) {
                      CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS)
                          .execute(AdsTestClient.this::reopen);
                    }
                  }

                  @Override
                  public void onCompleted() {}
                });
    boolean first = true;
    for (Map.Entry<String, List<String>> entry : subscriptions.entrySet()) {
      send(entry.getKey(), entry.getValue(), "", "", null, first);
      first = false;
    }
  }

  /** Subscribes to {@code names} of {@code typeUrl}. */
  public synchronized void subscribe(String typeUrl, List<String> names) {
    subscriptions.put(typeUrl, List.copyOf(names));
    send(typeUrl, names, "", "", null, true);
  }

  /** From now on, responses matching {@code predicate} are NACKed with an error. */
  public void rejectWhen(Predicate<DiscoveryResponse> predicate) {
    this.reject = predicate;
  }

  private synchronized void answer(DiscoveryResponse response) {
    List<String> names = subscriptions.getOrDefault(response.getTypeUrl(), List.of());
    if (reject.test(response)) {
      send(
          response.getTypeUrl(),
          names,
          lastAcceptedVersion(response.getTypeUrl()),
          response.getNonce(),
          Status.newBuilder()
              .setCode(3)
              .setMessage("test rejects version " + response.getVersionInfo())
              .build(),
          false);
    } else {
      accepted.put(response.getTypeUrl(), response.getVersionInfo());
      send(
          response.getTypeUrl(),
          names,
          response.getVersionInfo(),
          response.getNonce(),
          null,
          false);
    }
  }

  private final Map<String, String> accepted = new ConcurrentHashMap<>();

  private String lastAcceptedVersion(String typeUrl) {
    return accepted.getOrDefault(typeUrl, "");
  }

  private void send(
      String typeUrl,
      List<String> names,
      String version,
      String nonce,
      Status error,
      boolean withNode) {
    if (closed) {
      return;
    }
    DiscoveryRequest.Builder request =
        DiscoveryRequest.newBuilder()
            .setTypeUrl(typeUrl)
            .addAllResourceNames(names)
            .setVersionInfo(version)
            .setResponseNonce(nonce);
    if (withNode) {
      request.setNode(node);
    }
    if (error != null) {
      request.setErrorDetail(error);
    }
    requests.onNext(request.build());
  }

  /** How the controller ended each stream it ended, oldest first (the client then reconnects). */
  public List<io.grpc.Status> streamErrors() {
    return List.copyOf(streamErrors);
  }

  private synchronized void reopen() {
    if (!closed) {
      open();
    }
  }

  public List<DiscoveryResponse> responses() {
    return List.copyOf(responses);
  }

  public List<DiscoveryResponse> responses(String typeUrl) {
    return responses.stream().filter(r -> r.getTypeUrl().equals(typeUrl)).toList();
  }

  /** Every endpoint address:port in one EDS response. */
  public static Set<String> endpoints(DiscoveryResponse response) {
    Set<String> endpoints = new TreeSet<>();
    for (Any any : response.getResourcesList()) {
      try {
        ClusterLoadAssignment assignment = any.unpack(ClusterLoadAssignment.class);
        assignment
            .getEndpointsList()
            .forEach(
                locality ->
                    locality
                        .getLbEndpointsList()
                        .forEach(
                            e -> {
                              var socket = e.getEndpoint().getAddress().getSocketAddress();
                              endpoints.add(socket.getAddress() + ":" + socket.getPortValue());
                            }));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException(e);
      }
    }
    return endpoints;
  }

  /** The endpoints of the newest EDS response, or none. */
  public Set<String> currentEndpoints() {
    List<DiscoveryResponse> eds = responses(EDS);
    return eds.isEmpty() ? Set.of() : endpoints(eds.get(eds.size() - 1));
  }

  public static List<Set<String>> endpointHistory(List<DiscoveryResponse> responses) {
    List<Set<String>> history = new ArrayList<>();
    responses.forEach(response -> history.add(endpoints(response)));
    return history;
  }

  @Override
  public void close() throws InterruptedException {
    closed = true;
    if (requests != null) {
      requests.onCompleted();
    }
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
