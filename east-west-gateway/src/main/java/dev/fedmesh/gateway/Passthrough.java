package dev.fedmesh.gateway;

import dev.fedmesh.proxy.net.Splice;
import dev.fedmesh.proxy.upstream.CircuitBreaker;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.upstream.FailureKind;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway does with a connection once its ClientHello is read: refuses it, or connects it
 * to an endpoint of its route's cluster and splices the two, the buffered hello first. A failed
 * connection attempt is reported to the endpoint's outlier state and another endpoint is tried, up
 * to the route's attempt limit: nothing has been forwarded yet, so the client never notices.
 * Endpoint choice, outlier detection and circuit breakers are the sidecar's own ({@link
 * ClusterManager}), so a gateway balances and ejects exactly as a sidecar does.
 */
final class Passthrough implements SniInspector.Decisions {
  private static final Logger log = LoggerFactory.getLogger(Passthrough.class);

  private final ClusterManager clusters;
  private final GatewayMetrics metrics;
  private final RefusalLog refusals;

  Passthrough(ClusterManager clusters, GatewayMetrics metrics, RefusalLog refusals) {
    this.clusters = clusters;
    this.metrics = metrics;
    this.refusals = refusals;
  }

  @Override
  public void refuse(ChannelHandlerContext ctx, RefusalReason reason, String detail) {
    metrics.refusedConnections.labelValues(reason.label()).inc();
    refusals.refused(reason, ctx.channel().remoteAddress(), detail);
    ctx.close();
  }

  @Override
  public void forward(ChannelHandlerContext ctx, SniInspector inspector, SniRoutes.Route route) {
    String sni = route.serverName();
    metrics.connections.labelValues(sni).inc();
    metrics.activeConnections.labelValues(sni).inc();
    ctx.channel()
        .closeFuture()
        .addListener(closed -> metrics.activeConnections.labelValues(sni).dec());
    new Attempts(ctx, inspector, route).next();
  }

  /** The connection attempts of one client connection; runs on its event loop. */
  private final class Attempts {
    private final ChannelHandlerContext ctx;
    private final Channel client;
    private final SniInspector inspector;
    private final SniRoutes.Route route;
    private final Set<UpstreamHost> tried = new HashSet<>();
    private int attempts;
    private String lastFailure = "";

    Attempts(ChannelHandlerContext ctx, SniInspector inspector, SniRoutes.Route route) {
      this.ctx = ctx;
      this.client = ctx.channel();
      this.inspector = inspector;
      this.route = route;
    }

    void next() {
      if (!client.isActive()) {
        return; // the client left while we were connecting
      }
      Optional<UpstreamCluster> cluster = clusters.cluster(route.cluster());
      Optional<UpstreamHost> picked =
          attempts < route.connectAttempts()
              ? cluster.flatMap(c -> c.pick(tried))
              : Optional.empty();
      if (picked.isEmpty()) {
        if (attempts == 0) {
          refuse(
              ctx,
              RefusalReason.NO_HEALTHY_UPSTREAM,
              "cluster '" + route.cluster() + "' has no endpoint to take the connection");
        } else {
          refuse(
              ctx,
              RefusalReason.UPSTREAM_CONNECT_FAILED,
              "cluster '"
                  + route.cluster()
                  + "': "
                  + attempts
                  + " connection attempt(s) failed, the last to "
                  + lastFailure);
        }
        return;
      }
      CircuitBreaker breaker = cluster.get().circuitBreaker();
      if (!breaker.tryAcquireConnection()) {
        refuse(
            ctx,
            RefusalReason.UPSTREAM_OVERFLOW,
            "cluster '" + route.cluster() + "' is at its circuit breaker's max_connections");
        return;
      }
      UpstreamHost host = picked.get();
      tried.add(host);
      attempts++;
      new Bootstrap()
          .group(client.eventLoop())
          .channel(NioSocketChannel.class)
          .option(
              ChannelOption.CONNECT_TIMEOUT_MILLIS,
              (int) Math.min(Integer.MAX_VALUE, Math.max(1, cluster.get().connectTimeoutMillis())))
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new Splice(client, metrics.sentBytes.labelValues(route.serverName())::inc))
          .connect(host.address())
          .addListener(
              (ChannelFutureListener)
                  done -> {
                    if (done.isSuccess()) {
                      connected(host, breaker, done.channel());
                    } else {
                      breaker.releaseConnection();
                      host.recordFailure(FailureKind.CONNECT_FAILURE);
                      metrics.upstreamConnectFailures.labelValues(route.serverName()).inc();
                      lastFailure = host + ": " + done.cause();
                      log.debug("connect to {} failed: {}", host, done.cause().toString());
                      next();
                    }
                  });
    }

    private void connected(UpstreamHost host, CircuitBreaker breaker, Channel upstream) {
      host.recordSuccess();
      host.startRequest();
      upstream
          .closeFuture()
          .addListener(
              closed -> {
                host.endRequest();
                breaker.releaseConnection();
              });
      if (!client.isActive()) {
        upstream.close();
        return;
      }
      client
          .pipeline()
          .addLast(
              new Splice(upstream, metrics.receivedBytes.labelValues(route.serverName())::inc));
      // Removing the inspector passes the buffered ClientHello, unconsumed, to the splice.
      client.pipeline().remove(inspector);
      client.config().setAutoRead(true);
      upstream.config().setAutoRead(true);
      if (client instanceof DuplexChannel duplex && duplex.isInputShutdown()) {
        // The client finished sending while we connected: the event went nowhere; replay it.
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      }
    }
  }
}
