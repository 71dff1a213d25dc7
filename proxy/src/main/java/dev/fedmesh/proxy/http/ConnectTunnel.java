package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.net.Splice;
import dev.fedmesh.proxy.telemetry.RequestRecord;
import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.upstream.FailureKind;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpVersion;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A CONNECT tunnel on an HTTP/1.1 connection: once a host of the routed cluster accepts a
 * connection, answer 200 and relay bytes both ways; the HTTP handlers leave the pipeline. A host
 * that refuses is replaced by another, as often as the route's retry policy allows (at least once).
 */
final class ConnectTunnel {
  private final Downstream downstream;
  private final ChannelHandlerContext ctx;
  private final Routing.Forward forward;
  private final HttpRequest request;
  private final HttpUpstreams upstreams;
  private final ProxyStats stats;
  private final Telemetry telemetry;
  private final Set<UpstreamHost> tried = new HashSet<>();
  private int attempt;

  ConnectTunnel(
      Downstream downstream,
      Routing.Forward forward,
      HttpRequest request,
      HttpUpstreams upstreams,
      ProxyStats stats,
      Telemetry telemetry) {
    this.telemetry = telemetry;
    this.downstream = downstream;
    this.ctx = downstream.ctx();
    this.forward = forward;
    this.request = request;
    this.upstreams = upstreams;
    this.stats = stats;
  }

  void start() {
    ctx.channel().config().setAutoRead(false);
    connect();
  }

  private void connect() {
    attempt++;
    UpstreamCluster cluster = forward.cluster();
    UpstreamHost host = cluster.pick(tried).orElse(null);
    if (host == null) {
      downstream.exchangeFailed(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "no healthy upstream in cluster " + cluster.name(),
          request,
          false,
          "UH");
      return;
    }
    tried.add(host);
    upstreams.openTunnel(
        ctx.channel().eventLoop(),
        cluster,
        host,
        upstream -> {
          host.recordSuccess();
          if (!ctx.channel().isActive()) {
            upstream.close();
            return;
          }
          upstream.config().setAutoRead(false);
          ctx.writeAndFlush(
                  new DefaultFullHttpResponse(
                      HttpVersion.HTTP_1_1, new HttpResponseStatus(200, "Connection established")))
              .addListener(
                  (ChannelFutureListener)
                      written -> {
                        if (!written.isSuccess()) {
                          upstream.close();
                          return;
                        }
                        stats.tunnel(cluster.name());
                        Channel downstreamChannel = ctx.channel();
                        removeHttpHandlers(ctx.pipeline());
                        ctx.pipeline().remove(ctx.handler());
                        Telemetry.TcpConnection connection =
                            telemetry.tcpOpened(
                                RequestRecord.Reporter.SOURCE,
                                request.uri(),
                                Workload.UNKNOWN,
                                "unknown",
                                cluster.mutualTls());
                        downstreamChannel.closeFuture().addListener(closed -> connection.closed());
                        Splice.join(
                            downstreamChannel, upstream, connection::received, connection::sent);
                      });
        },
        cause -> {
          host.recordFailure(FailureKind.CONNECT_FAILURE);
          if (attempt <= Math.max(1, forward.retry().numRetries()) && ctx.channel().isActive()) {
            connect();
          } else {
            downstream.exchangeFailed(
                HttpResponseStatus.SERVICE_UNAVAILABLE,
                "upstream connect error: " + cause.getMessage(),
                request,
                false,
                "UF");
          }
        });
  }

  private static void removeHttpHandlers(ChannelPipeline pipeline) {
    for (String name : List.copyOf(pipeline.names())) {
      var handler = pipeline.get(name);
      if (handler instanceof HttpServerCodec
          || handler instanceof HttpServerKeepAliveHandler
          || handler instanceof HttpServerExpectContinueHandler
          || handler instanceof ServerPipelines.Activity) {
        pipeline.remove(handler);
      }
    }
  }
}
