package dev.fedmesh.proxy.intercept;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.net.Splice;
import dev.fedmesh.proxy.net.Transports;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's {@code tcp_proxy} for intercepted connections: the downstream is held (what it already
 * sent is kept) until the upstream is connected, then both are spliced. The upstream is a host of
 * the named cluster over the cluster's TLS, or, for an {@code ORIGINAL_DST} cluster ({@code
 * PassthroughCluster}) or no cluster at all, the original destination itself in plaintext.
 */
final class TcpProxy {
  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);
  private static final int PASSTHROUGH_CONNECT_TIMEOUT_MILLIS = 10_000;

  private final ClusterManager clusters;
  private final UpstreamConnector connector;
  private final InterceptStats stats;

  TcpProxy(ClusterManager clusters, UpstreamConnector connector, InterceptStats stats) {
    this.clusters = requireNonNull(clusters, "clusters");
    this.connector = requireNonNull(connector, "connector");
    this.stats = requireNonNull(stats, "stats");
  }

  /**
   * Sends {@code downstream} to {@code clusterName}, or to {@code destination} when the name is
   * empty (no default chain: ALLOW_ANY) or names an ORIGINAL_DST cluster. A cluster that does not
   * exist or has no host to pick closes the connection, as Envoy's {@code BlackHoleCluster} does.
   */
  void forward(
      Channel downstream, Optional<String> clusterName, InetSocketAddress destination, String how) {
    Hold hold = new Hold();
    downstream.config().setAutoRead(false);
    downstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    downstream.pipeline().addLast(hold);
    Optional<UpstreamCluster> cluster = clusterName.flatMap(clusters::cluster);
    boolean passthrough =
        clusterName.isEmpty()
            || cluster
                .map(c -> c.config().getType() == Cluster.DiscoveryType.ORIGINAL_DST)
                .orElse(false);
    Consumer<Channel> joined =
        upstream -> {
          if (!downstream.isActive()) {
            upstream.close();
            return;
          }
          boolean inputClosed = hold.release(upstream);
          Splice.join(downstream, upstream);
          if (inputClosed) {
            downstream.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
          }
        };
    Consumer<Throwable> failed =
        cause -> {
          stats.outbound("failed");
          log.debug("{} to {} failed: {}", how, destination, cause.toString());
          downstream.close();
        };
    if (passthrough) {
      stats.outbound("passthrough");
      connectPlain(downstream, destination, joined, failed);
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
    connector.open(downstream.eventLoop(), cluster.get(), host.get(), joined, failed);
    downstream.read(); // what arrives meanwhile is held
  }

  private static void connectPlain(
      Channel downstream,
      InetSocketAddress destination,
      Consumer<Channel> joined,
      Consumer<Throwable> failed) {
    new Bootstrap()
        .group(downstream.eventLoop())
        .channel(Transports.socketChannel(downstream.eventLoop()))
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, PASSTHROUGH_CONNECT_TIMEOUT_MILLIS)
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {}
            })
        .connect(destination)
        .addListener(
            (ChannelFuture f) -> {
              if (f.isSuccess()) {
                joined.accept(f.channel());
              } else {
                failed.accept(f.cause());
              }
            });
    downstream.read();
  }

  /**
   * Keeps what the downstream sends before the upstream is connected (one read at a time: the
   * downstream does not read on by itself), then hands it to the upstream in order and leaves.
   */
  private static final class Hold extends ChannelInboundHandlerAdapter {
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private ChannelHandlerContext context;
    private boolean inputClosed;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      context = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buf) {
        held.add(buf);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (held.size() < 16) {
        ctx.read();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        inputClosed = true;
        return; // replayed after the splice is in place
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      drop();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("intercepted connection {} failed: {}", ctx.channel(), cause.toString());
      ctx.close();
    }

    /**
     * Writes what was held to {@code upstream} and leaves the pipeline; true when the downstream
     * had already finished sending (to be replayed once the splice is in place).
     */
    boolean release(Channel upstream) {
      while (!held.isEmpty()) {
        upstream.write(held.poll());
      }
      upstream.flush();
      context.pipeline().remove(this);
      return inputClosed;
    }

    private void drop() {
      while (!held.isEmpty()) {
        held.poll().release();
      }
    }
  }
}
