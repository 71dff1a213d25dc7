package dev.fedmesh.gateway;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.proxy.xds.XdsClient;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The gateway's config from the controller: the proxy's {@link XdsClient} (ADS, state of the world,
 * per-resource NACKs, last good config kept while no controller answers) on a thread of its own,
 * announcing the node as an east-west gateway.
 */
public final class XdsConfigSource implements GatewayConfigSource {

  /** The identity gateways run as: their certificate is {@code ns/fedmesh-system/sa/<this>}. */
  public static final String GATEWAY_NAMESPACE = "fedmesh-system";

  public static final String GATEWAY_SERVICE_ACCOUNT = "fedmesh-eastwestgateway";

  private final List<? extends Channel> controllers;
  private final List<ManagedChannel> owned;
  private final Node node;
  private final Backoff backoff;
  private ScheduledExecutorService executor;
  private volatile XdsClient client;

  private XdsConfigSource(
      List<? extends Channel> controllers, List<ManagedChannel> owned, Node node, Backoff backoff) {
    if (controllers.isEmpty()) {
      throw new IllegalArgumentException("controllers: none (expected: at least one)");
    }
    this.controllers = List.copyOf(controllers);
    this.owned = owned;
    this.node = requireNonNull(node, "node");
    this.backoff = requireNonNull(backoff, "backoff");
  }

  /** Over channels the caller owns (and shuts down after closing this source). */
  public static XdsConfigSource of(List<? extends Channel> controllers, Node node) {
    return new XdsConfigSource(controllers, List.of(), node, defaultBackoff());
  }

  /** Over channels the caller owns, reconnecting with {@code backoff}. */
  public static XdsConfigSource of(
      List<? extends Channel> controllers, Node node, Backoff backoff) {
    return new XdsConfigSource(controllers, List.of(), node, backoff);
  }

  /** Over plaintext channels to {@code host:port} targets, which this source owns. */
  public static XdsConfigSource connect(List<String> controllerTargets, Node node) {
    List<ManagedChannel> channels = new ArrayList<>();
    for (String target : controllerTargets) {
      channels.add(NettyChannelBuilder.forTarget(target).usePlaintext().build());
    }
    return new XdsConfigSource(channels, channels, node, defaultBackoff());
  }

  /**
   * Over mutual TLS channels to {@code host:port} targets, which this source owns: the gateway
   * presents {@code credential} (its SVID, {@code ns/fedmesh-system/sa/fedmesh-eastwestgateway})
   * and accepts only the controller identity under {@code roots}.
   */
  public static XdsConfigSource connectTls(
      List<String> controllerTargets,
      Node node,
      Supplier<Optional<SvidCredential>> credential,
      Supplier<TrustBundleSet> roots) {
    SslContext tls =
        ControlPlaneTls.client(
            credential,
            SvidVerifier.of(roots, java.time.Clock.systemUTC()),
            ControlPlaneTls.anyController());
    List<ManagedChannel> channels = new ArrayList<>();
    for (String target : controllerTargets) {
      channels.add(NettyChannelBuilder.forTarget(target).sslContext(tls).build());
    }
    return new XdsConfigSource(channels, channels, node, defaultBackoff());
  }

  private static Backoff defaultBackoff() {
    return new Backoff(Duration.ofMillis(200), Duration.ofSeconds(15), new Random());
  }

  /**
   * The xDS node of a gateway: {@code FEDMESH_ROLE=gateway}, its cluster and network in the
   * metadata, its region and zone as the node's locality.
   */
  public static Node gatewayNode(
      String nodeId, String cluster, String network, String region, String zone) {
    return Node.newBuilder()
        .setId(requireNonNull(nodeId, "nodeId"))
        .setCluster(requireNonNull(cluster, "cluster"))
        .setMetadata(
            Struct.newBuilder()
                .putFields(NodeMetadata.ROLE, string(NodeMetadata.ROLE_GATEWAY))
                .putFields(NodeMetadata.CLUSTER, string(cluster))
                .putFields(NodeMetadata.NETWORK, string(requireNonNull(network, "network")))
                .putFields(NodeMetadata.NAMESPACE, string(GATEWAY_NAMESPACE))
                .putFields(NodeMetadata.SERVICE_ACCOUNT, string(GATEWAY_SERVICE_ACCOUNT)))
        .setLocality(
            Locality.newBuilder()
                .setRegion(requireNonNull(region, "region"))
                .setZone(requireNonNull(zone, "zone")))
        .setUserAgentName("fedmesh-east-west-gateway")
        .build();
  }

  private static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  @Override
  public synchronized void start(Consumer<ProxyConfig> onConfig) {
    if (executor != null) {
      throw new IllegalStateException("already started");
    }
    executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-xds");
              thread.setDaemon(true);
              return thread;
            });
    client = XdsClient.start(controllers, node, executor, backoff, onConfig);
  }

  /** Whether a stream to a controller is open and has delivered a response. */
  public boolean isConnected() {
    XdsClient current = client;
    return current != null && current.isConnected();
  }

  /** The last rejection sent to the controller, or empty. */
  public String lastError() {
    XdsClient current = client;
    return current == null ? "" : current.lastError();
  }

  @Override
  public synchronized void close() {
    if (client != null) {
      client.close();
    }
    if (executor != null) {
      executor.shutdown();
      try {
        executor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      executor.shutdownNow();
    }
    for (ManagedChannel channel : owned) {
      channel.shutdownNow();
    }
  }
}
