package dev.fedmesh.proxy.intercept;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.upstream.ClusterManager;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The outbound capture listener (Envoy's {@code virtualOutbound} with {@code use_original_dst}):
 * for each connection the pod's rules redirected here, the original destination picks what happens.
 *
 * <ol>
 *   <li>No original destination (the connection was made to the listener itself): the explicit HTTP
 *       proxy, as without interception, so {@code HTTP_PROXY} clients keep working.
 *   <li>A TCP filter chain matches the destination: {@code tcp_proxy} to its cluster (mutual TLS to
 *       the peer sidecar, as the cluster says), without looking at the bytes.
 *   <li>Otherwise the first bytes decide: HTTP/1.x or HTTP/2 is routed by its Host as the explicit
 *       proxy routes (an unknown host passes through or is refused, per the policy below); anything
 *       else goes to the default chain's cluster.
 * </ol>
 *
 * <p>Where a chain with server names (a ServiceEntry's TLS port) may take the destination, the
 * ClientHello is read first: a matching SNI picks that chain, before the steps above.
 *
 * <p>The default chain says what becomes of destinations the mesh does not know ({@code
 * outboundTrafficPolicy}): an ORIGINAL_DST cluster ({@code PassthroughCluster}, ALLOW_ANY) or no
 * default chain connects to the original destination in plaintext; any other cluster ({@code
 * BlackHoleCluster}, REGISTRY_ONLY) closes the connection when it has no host.
 */
public final class VirtualOutbound extends ChannelInitializer<Channel> {
  /** Installs the HTTP server pipeline on an intercepted connection. */
  @FunctionalInterface
  public interface HttpHandoff {
    /**
     * @param destination the original destination (where an unknown host passes through to)
     * @param allowAny whether a request whose host has no route may pass through to {@code
     *     destination} (ALLOW_ANY), or is refused (REGISTRY_ONLY)
     */
    void install(Channel channel, boolean http2, InetSocketAddress destination, boolean allowAny);
  }

  private final Supplier<OutboundChains> chains;
  private final ClusterManager clusters;
  private final Consumer<Channel> explicit;
  private final HttpHandoff http;
  private final TcpProxy tcp;
  private final InterceptStats stats;
  private final Duration detectionTimeout;
  private final Function<Channel, Optional<InetSocketAddress>> originalDestination;

  public VirtualOutbound(
      Supplier<OutboundChains> chains,
      ClusterManager clusters,
      Consumer<Channel> explicit,
      HttpHandoff http,
      UpstreamConnector connector,
      InterceptStats stats,
      Telemetry telemetry,
      Duration detectionTimeout) {
    this(
        chains,
        clusters,
        explicit,
        http,
        connector,
        stats,
        telemetry,
        detectionTimeout,
        OriginalDestination::redirected);
  }

  /** With where each connection was going told by {@code originalDestination} (tests). */
  VirtualOutbound(
      Supplier<OutboundChains> chains,
      ClusterManager clusters,
      Consumer<Channel> explicit,
      HttpHandoff http,
      UpstreamConnector connector,
      InterceptStats stats,
      Telemetry telemetry,
      Duration detectionTimeout,
      Function<Channel, Optional<InetSocketAddress>> originalDestination) {
    this.originalDestination = requireNonNull(originalDestination, "originalDestination");
    this.chains = requireNonNull(chains, "chains");
    this.clusters = requireNonNull(clusters, "clusters");
    this.explicit = requireNonNull(explicit, "explicit");
    this.http = requireNonNull(http, "http");
    this.stats = requireNonNull(stats, "stats");
    this.tcp = new TcpProxy(clusters, connector, stats, telemetry);
    this.detectionTimeout = requireNonNull(detectionTimeout, "detectionTimeout");
  }

  @Override
  protected void initChannel(Channel ch) {
    InetSocketAddress local = (InetSocketAddress) ch.localAddress();
    Optional<InetSocketAddress> original =
        originalDestination.apply(ch).filter(destination -> !destination.equals(local));
    if (original.isEmpty()) {
      stats.outbound("explicit");
      explicit.accept(ch);
      return;
    }
    InetSocketAddress destination = original.get();
    OutboundChains current = chains.get();
    Optional<String> cluster = current.clusterFor(destination);
    boolean byServerName = current.byServerName(destination);
    if (cluster.isPresent() && !byServerName) {
      tcp.forward(ch, cluster, destination, "tcp_proxy");
      return;
    }
    Optional<String> fallback = current.defaultCluster();
    boolean allowAny = fallback.isEmpty() || isOriginalDestination(fallback.get());
    ch.pipeline()
        .addLast(
            new OutboundSniffer(
                detected -> {
                  switch (detected.protocol()) {
                    case HTTP1, HTTP2 -> {
                      if (cluster.isPresent()) {
                        tcp.forward(ch, cluster, destination, "tcp_proxy");
                        return;
                      }
                      stats.outbound("http");
                      http.install(
                          ch,
                          detected.protocol() == OutboundSniffer.Protocol.HTTP2,
                          destination,
                          allowAny);
                    }
                    case TLS -> {
                      Optional<String> named =
                          detected
                              .serverName()
                              .flatMap(sni -> current.clusterFor(destination, sni));
                      tcp.forward(
                          ch,
                          named.or(() -> cluster).or(() -> fallback),
                          destination,
                          named.isPresent() ? "tls_proxy" : "tcp_proxy");
                    }
                    case OPAQUE ->
                        tcp.forward(ch, cluster.or(() -> fallback), destination, "tcp_proxy");
                  }
                },
                detectionTimeout,
                byServerName));
  }

  private boolean isOriginalDestination(String cluster) {
    return clusters
        .cluster(cluster)
        .map(c -> c.config().getType() == Cluster.DiscoveryType.ORIGINAL_DST)
        .orElse(false);
  }
}
