package dev.fedmesh.gateway;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
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
 */
final class Passthrough implements SniInspector.Decisions {
  private static final Logger log = LoggerFactory.getLogger(Passthrough.class);

  private final Upstreams upstreams;
  private final GatewayMetrics metrics;
  private final RefusalLog refusals;

  Passthrough(Upstreams upstreams, GatewayMetrics metrics, RefusalLog refusals) {
    this.upstreams = upstreams;
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
    private final Set<InetSocketAddress> tried = new HashSet<>();
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
      Optional<Upstreams.Endpoint> picked =
          tried.size() < route.connectAttempts()
              ? upstreams.pick(route.cluster(), tried)
              : Optional.empty();
      if (picked.isEmpty()) {
        if (tried.isEmpty()) {
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
                  + tried.size()
                  + " endpoint(s) failed, the last with "
                  + lastFailure);
        }
        return;
      }
      Upstreams.Endpoint endpoint = picked.get();
      tried.add(endpoint.address());
      ChannelFuture connect =
          new Bootstrap()
              .group(client.eventLoop())
              .channel(NioSocketChannel.class)
              .option(
                  ChannelOption.CONNECT_TIMEOUT_MILLIS,
                  (int) Math.min(Integer.MAX_VALUE, Math.max(1, route.connectTimeout().toMillis())))
              .option(ChannelOption.AUTO_READ, false)
              .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
              .handler(new TcpSplice(client, metrics.sentBytes.labelValues(route.serverName())))
              .connect(endpoint.address());
      connect.addListener(
          (ChannelFutureListener)
              done -> {
                if (done.isSuccess()) {
                  connected(endpoint, done.channel());
                } else {
                  endpoint.connectFailed();
                  metrics.upstreamConnectFailures.labelValues(route.serverName()).inc();
                  lastFailure = endpoint.address() + ": " + done.cause();
                  log.debug(
                      "connect to {} failed: {}", endpoint.address(), done.cause().toString());
                  next();
                }
              });
    }

    private void connected(Upstreams.Endpoint endpoint, Channel upstream) {
      endpoint.connected();
      upstream.closeFuture().addListener(closed -> endpoint.closed());
      if (!client.isActive()) {
        upstream.close();
        return;
      }
      client
          .pipeline()
          .addLast(new TcpSplice(upstream, metrics.receivedBytes.labelValues(route.serverName())));
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
