package dev.fedmesh.proxy.intercept;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.XdsNames;
import dev.fedmesh.proxy.net.Relay;
import dev.fedmesh.proxy.telemetry.RequestRecord;
import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's {@code tcp_proxy} for intercepted connections: the downstream is held (what it already
 * sent is kept) until the upstream is connected, then both are spliced ({@link Relay}). The
 * upstream is a host of the named cluster over the cluster's TLS, or, for an {@code ORIGINAL_DST}
 * cluster ({@code PassthroughCluster}) or no cluster at all, the original destination itself in
 * plaintext.
 */
final class TcpProxy {
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);
  private static final int PASSTHROUGH_CONNECT_TIMEOUT_MILLIS = 10_000;

  private final ClusterManager clusters;
  private final UpstreamConnector connector;
  private final InterceptStats stats;
  private final Telemetry telemetry;

  TcpProxy(
      ClusterManager clusters,
      UpstreamConnector connector,
      InterceptStats stats,
      Telemetry telemetry) {
    this.clusters = requireNonNull(clusters, "clusters");
    this.connector = requireNonNull(connector, "connector");
    this.stats = requireNonNull(stats, "stats");
    this.telemetry = requireNonNull(telemetry, "telemetry");
  }

  /**
   * Opens the connection's entry in Istio's TCP metrics (reporter=source), closed with it.
   *
   * @param service the service host, or Istio's {@code PassthroughCluster} for a destination the
   *     mesh does not know
   */
  private Relay.Counters counted(Channel downstream, String service, boolean mutualTls) {
    Telemetry.TcpConnection connection =
        telemetry.tcpOpened(
            RequestRecord.Reporter.SOURCE, service, Workload.UNKNOWN, "unknown", mutualTls);
    downstream.closeFuture().addListener(closed -> connection.closed());
    return new Relay.Counters(connection::received, connection::sent);
  }

  /** The service host of an {@code outbound|port|subset|host} cluster name, else the name. */
  static String service(String clusterName) {
    int bar = clusterName.lastIndexOf('|');
    return clusterName.startsWith("outbound|") && bar > 0
        ? clusterName.substring(bar + 1)
        : clusterName;
  }

  /**
   * Sends {@code downstream} to {@code clusterName}, or to {@code destination} when the name is
   * empty (no default chain: ALLOW_ANY) or names an ORIGINAL_DST cluster. A cluster that does not
   * exist or has no host to pick closes the connection, as Envoy's {@code BlackHoleCluster} does.
   */
  void forward(
      Channel downstream, Optional<String> clusterName, InetSocketAddress destination, String how) {
    downstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    Optional<UpstreamCluster> cluster = clusterName.flatMap(clusters::cluster);
    boolean passthrough =
        clusterName.isEmpty()
            || cluster
                .map(c -> c.config().getType() == Cluster.DiscoveryType.ORIGINAL_DST)
                .orElse(false);
    Consumer<Throwable> failed =
        cause -> {
          stats.outbound("failed");
          log.debug("{} to {} failed: {}", how, destination, cause.toString());
          downstream.close();
        };
    if (passthrough && cluster.isPresent() && cluster.get().tls().isPresent()) {
      // An ORIGINAL_DST cluster with TLS (a MESH_INTERNAL or SIMPLE ServiceEntry of resolution
      // NONE): its TLS to where the application connected.
      UpstreamCluster target =
          UpstreamCluster.originalDestination(cluster.get().config(), destination);
      stats.outbound("passthrough");
      Relay relay = Relay.hold(downstream);
      Relay.Counters counters = counted(downstream, service(clusterName.get()), target.mutualTls());
      connector.open(
          downstream.eventLoop(),
          target,
          target.hosts().get(0),
          upstream -> relay.join(upstream, counters),
          failed);
      return;
    }
    if (passthrough) {
      stats.outbound("passthrough");
      Relay.connect(
          downstream,
          destination,
          PASSTHROUGH_CONNECT_TIMEOUT_MILLIS,
          failed,
          counted(downstream, XdsNames.PASSTHROUGH_CLUSTER, false));
      return;
    }
    Optional<UpstreamHost> host = cluster.flatMap(c -> c.pick(Set.of()));
    if (host.isEmpty()) {
      stats.outbound("blackhole");
      log.debug(
          "{} to {}: cluster {} {}; closed",
          how,
          destination,
          clusterName.get(),
          cluster.isEmpty() ? "does not exist" : "has no host");
      downstream.close();
      return;
    }
    stats.outbound(how);
    Relay relay = Relay.hold(downstream);
    Relay.Counters counters =
        counted(downstream, service(clusterName.get()), cluster.get().mutualTls());
    connector.open(
        downstream.eventLoop(),
        cluster.get(),
        host.get(),
        upstream -> relay.join(upstream, counters),
        failed);
  }
}
