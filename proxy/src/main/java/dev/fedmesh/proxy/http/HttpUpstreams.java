package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.tls.TlsContexts;
import dev.fedmesh.proxy.tls.TlsOrigination;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Connections to upstream hosts, per event loop so that a request never crosses threads: HTTP/1.1
 * keep-alive pools (one request per connection at a time) and one multiplexed HTTP/2 connection per
 * host. TLS, when the cluster asks for it (the mesh's mutual TLS, or TLS originated to a server
 * outside the mesh, {@link TlsOrigination}), is finished before a connection counts as connected,
 * so a failed handshake is a connect failure that can be retried elsewhere.
 */
final class HttpUpstreams {
  private static final int MAX_IDLE_PER_HOST = 64;

  private record PoolKey(
      InetSocketAddress address, UpstreamTlsContext tls, UpstreamCluster.Protocol protocol) {
    // Written out: the record's generated ones go through method handles that C2 did not inline
    // on this per-request lookup. The TLS context is the cluster's own object, so usually the
    // same one (Objects.equals checks identity first).
    @Override
    public boolean equals(Object other) {
      return other instanceof PoolKey that
          && protocol == that.protocol
          && address.equals(that.address)
          && Objects.equals(tls, that.tls);
    }

    @Override
    public int hashCode() {
      return (31 * address.hashCode() + Objects.hashCode(tls)) * 31 + Objects.hashCode(protocol);
    }
  }

  private final Optional<TlsContexts> tls;
  private final TlsOrigination origination = new TlsOrigination();
  private final FastThreadLocal<Map<PoolKey, ArrayDeque<Channel>>> idle =
      new FastThreadLocal<>() {
        @Override
        protected Map<PoolKey, ArrayDeque<Channel>> initialValue() {
          return new HashMap<>();
        }
      };
  private final FastThreadLocal<Map<PoolKey, ChannelFuture>> http2 =
      new FastThreadLocal<>() {
        @Override
        protected Map<PoolKey, ChannelFuture> initialValue() {
          return new HashMap<>();
        }
      };

  HttpUpstreams(Optional<TlsContexts> tls) {
    this.tls = requireNonNull(tls, "tls");
  }

  /**
   * Opens a stream to {@code host}; {@code onOpen} gets it, or {@code onFailure} the reason the
   * connection could not be made. Both run on {@code loop}.
   */
  void open(
      EventLoop loop,
      UpstreamCluster cluster,
      UpstreamHost host,
      UpstreamStream.Listener listener,
      Consumer<UpstreamStream> onOpen,
      Consumer<Throwable> onFailure) {
    UpstreamTlsContext tlsContext = cluster.tls().orElse(null);
    if (tlsContext != null && tls.isEmpty() && !TlsOrigination.applies(tlsContext)) {
      onFailure.accept(
          new IllegalStateException(
              "cluster " + cluster.name() + " asks for TLS but this proxy has no identity"));
      return;
    }
    PoolKey key = new PoolKey(host.address(), tlsContext, cluster.protocol());
    if (key.protocol() == UpstreamCluster.Protocol.HTTP2) {
      openHttp2(loop, cluster, key, listener, onOpen, onFailure, true);
      return;
    }
    ArrayDeque<Channel> pool = idle.get().get(key);
    while (pool != null && !pool.isEmpty()) {
      Channel channel = pool.pollLast();
      if (channel.isActive()) {
        H1Stream stream = channel.pipeline().get(H1Stream.class);
        stream.attach(listener);
        onOpen.accept(stream);
        return;
      }
    }
    connect(loop, cluster, key)
        .addListener(
            (ChannelFuture future) -> {
              if (!future.isSuccess()) {
                onFailure.accept(future.cause());
                return;
              }
              Channel channel = future.channel();
              ChannelPipeline pipeline = channel.pipeline();
              pipeline.addLast(new HttpClientCodec(4096, 65536, 65536));
              H1Stream stream = new H1Stream(key, channel);
              pipeline.addLast(stream);
              stream.attach(listener);
              onOpen.accept(stream);
            });
  }

  /** A raw connection for a CONNECT tunnel: TCP (and TLS when the cluster asks), no HTTP. */
  void openTunnel(
      EventLoop loop,
      UpstreamCluster cluster,
      UpstreamHost host,
      Consumer<Channel> onOpen,
      Consumer<Throwable> onFailure) {
    UpstreamTlsContext tlsContext = cluster.tls().orElse(null);
    if (tlsContext != null && tls.isEmpty() && !TlsOrigination.applies(tlsContext)) {
      onFailure.accept(
          new IllegalStateException(
              "cluster " + cluster.name() + " asks for TLS but this proxy has no identity"));
      return;
    }
    connect(loop, cluster, new PoolKey(host.address(), tlsContext, null))
        .addListener(
            (ChannelFuture future) -> {
              if (future.isSuccess()) {
                onOpen.accept(future.channel());
              } else {
                onFailure.accept(future.cause());
              }
            });
  }

  private ChannelFuture connect(EventLoop loop, UpstreamCluster cluster, PoolKey key) {
    Bootstrap bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(dev.fedmesh.proxy.net.Transports.socketChannel(loop))
            .option(ChannelOption.TCP_NODELAY, true)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.max(1, Math.min(Integer.MAX_VALUE, cluster.connectTimeoutMillis())))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    // A request's head and body are written as they arrive from one downstream
                    // read, each followed by a flush: merged here into one flush per event-loop
                    // turn, so that they leave in one TLS record and one write(2) instead of two
                    // or three.
                    ch.pipeline().addLast("flush", new FlushConsolidationHandler(256, true));
                  }
                });
    ChannelFuture connected = bootstrap.connect(key.address());
    if (key.tls() == null) {
      return connected;
    }
    var ready = connected.channel().newPromise();
    connected.addListener(
        (ChannelFuture future) -> {
          if (!future.isSuccess()) {
            ready.setFailure(future.cause());
            return;
          }
          TlsContexts.Alpn alpn =
              key.protocol() == null
                  ? TlsContexts.Alpn.NONE
                  : key.protocol() == UpstreamCluster.Protocol.HTTP2
                      ? TlsContexts.Alpn.HTTP2
                      : TlsContexts.Alpn.HTTP1;
          SslHandler ssl;
          try {
            ssl =
                TlsOrigination.applies(key.tls())
                    ? origination.clientHandler(
                        key.tls(), alpn, future.channel().alloc(), key.address())
                    : tls.get()
                        .clientHandler(key.tls(), alpn, future.channel().alloc(), key.address());
          } catch (RuntimeException e) {
            ready.setFailure(e); // roots that cannot be read: a connect failure, as Envoy's
            future.channel().close();
            return;
          }
          future.channel().pipeline().addFirst("tls", ssl);
          ssl.handshakeFuture()
              .addListener(
                  handshake -> {
                    if (handshake.isSuccess()) {
                      ready.setSuccess();
                    } else {
                      ready.setFailure(handshake.cause());
                      future.channel().close();
                    }
                  });
        });
    return ready;
  }

  private void openHttp2(
      EventLoop loop,
      UpstreamCluster cluster,
      PoolKey key,
      UpstreamStream.Listener listener,
      Consumer<UpstreamStream> onOpen,
      Consumer<Throwable> onFailure,
      boolean mayReconnect) {
    Map<PoolKey, ChannelFuture> connections = http2.get();
    ChannelFuture connection = connections.get(key);
    if (connection == null || (connection.isDone() && !connection.channel().isActive())) {
      connection = connectHttp2(loop, cluster, key);
      connections.put(key, connection);
      ChannelFuture mine = connection;
      mine.channel().closeFuture().addListener(closed -> connections.remove(key, mine));
    }
    connection.addListener(
        (ChannelFuture future) -> {
          if (!future.isSuccess()) {
            connections.remove(key, future);
            onFailure.accept(future.cause());
            return;
          }
          H2Stream stream = new H2Stream(listener);
          new Http2StreamChannelBootstrap(future.channel())
              .handler(
                  new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel ch) {
                      ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false));
                      ch.pipeline().addLast(stream);
                    }
                  })
              .open()
              .addListener(
                  opened -> {
                    if (opened.isSuccess()) {
                      onOpen.accept(stream);
                    } else if (mayReconnect) {
                      // The shared connection went away (GOAWAY, stream limit): one fresh try.
                      connections.remove(key, future);
                      openHttp2(loop, cluster, key, listener, onOpen, onFailure, false);
                    } else {
                      onFailure.accept(opened.cause());
                    }
                  });
        });
  }

  private ChannelFuture connectHttp2(EventLoop loop, UpstreamCluster cluster, PoolKey key) {
    ChannelFuture connected = connect(loop, cluster, key);
    var ready = connected.channel().newPromise();
    connected.addListener(
        (ChannelFuture future) -> {
          if (!future.isSuccess()) {
            ready.setFailure(future.cause());
            return;
          }
          Channel channel = future.channel();
          channel
              .pipeline()
              .addLast(
                  Http2FrameCodecBuilder.forClient()
                      .initialSettings(Http2Settings.defaultSettings().initialWindowSize(1 << 20))
                      .build(),
                  new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                  new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                      if (msg instanceof Http2GoAwayFrame) {
                        // No new streams here; existing ones finish. The next request reconnects.
                        http2.get().remove(key);
                      }
                      ReferenceCountUtil.release(msg);
                    }
                  });
          ready.setSuccess();
        });
    return ready;
  }

  /**
   * What both kinds of stream share: they hand response objects to the current listener, and report
   * a break before the response ended (close, error, HTTP/2 reset) exactly once.
   */
  private abstract static class Stream extends ChannelInboundHandlerAdapter
      implements UpstreamStream {
    UpstreamStream.Listener listener;
    Channel channel;
    boolean responseDone;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      channel = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (listener == null || !(msg instanceof HttpObject object)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof LastHttpContent) {
        responseDone = true;
      }
      listener.onResponse(object);
    }

    /** Tells the listener, once, that the stream broke before its response ended. */
    void broken(Throwable cause, boolean refused) {
      UpstreamStream.Listener current = listener;
      listener = null;
      if (current != null && !responseDone) {
        current.onReset(cause, refused);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      broken(new IllegalStateException("upstream connection closed"), false);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
      broken(cause, false);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (listener != null) {
        listener.onWritabilityChanged(ctx.channel().isWritable());
      }
    }

    @Override
    public void write(HttpObject message) {
      channel.write(message, channel.voidPromise());
    }

    @Override
    public void flush() {
      channel.flush();
    }

    @Override
    public boolean isWritable() {
      return channel.isWritable();
    }

    @Override
    public void setAutoRead(boolean autoRead) {
      channel.config().setAutoRead(autoRead);
    }

    @Override
    public void reset() {
      listener = null;
      channel.close(); // an HTTP/1.1 connection closes; an HTTP/2 stream sends RST_STREAM(CANCEL)
    }

    @Override
    public Channel channel() {
      return channel;
    }
  }

  /** An HTTP/1.1 connection serving one request at a time, then pooled for keep-alive. */
  private final class H1Stream extends Stream {
    private final PoolKey key;

    H1Stream(PoolKey key, Channel channel) {
      this.key = key;
      this.channel = channel;
      this.responseDone = true;
      // Once per connection, not per request: a keep-alive connection serves many requests, and
      // its close future would otherwise keep one listener for each of them.
      channel
          .closeFuture()
          .addListener(
              closed -> {
                ArrayDeque<Channel> pool = idle.get().get(key);
                if (pool != null) {
                  pool.remove(channel);
                }
              });
    }

    void attach(UpstreamStream.Listener listener) {
      this.listener = listener;
      this.responseDone = false;
    }

    @Override
    public void finish(boolean reusable) {
      listener = null;
      channel.config().setAutoRead(true);
      if (!reusable || !channel.isActive()) {
        channel.close();
        return;
      }
      ArrayDeque<Channel> pool = idle.get().computeIfAbsent(key, k -> new ArrayDeque<>());
      if (pool.size() >= MAX_IDLE_PER_HOST) {
        channel.close();
        return;
      }
      pool.addLast(channel);
    }
  }

  /** One HTTP/2 stream: the shared connection stays. */
  private static final class H2Stream extends Stream {
    H2Stream(UpstreamStream.Listener listener) {
      this.listener = listener;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2ResetFrame reset) {
        reset(reset.errorCode());
        return;
      }
      super.channelRead(ctx, msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame reset) {
        reset(reset.errorCode());
      }
      ReferenceCountUtil.release(evt);
    }

    private void reset(long errorCode) {
      broken(
          new IllegalStateException("upstream reset the stream: " + Http2Error.valueOf(errorCode)),
          errorCode == Http2Error.REFUSED_STREAM.code());
    }

    @Override
    public void finish(boolean reusable) {
      listener = null;
      if (channel.isActive() && !responseDone) {
        channel.close();
      }
    }
  }
}
