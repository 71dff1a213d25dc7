package dev.fedmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The HTTP/1.1 and HTTP/2 server pipelines both listeners use, and first-bytes detection. */
final class ServerPipelines {
  static final int MAX_INITIAL_LINE = 8192;
  static final int MAX_HEADER_BYTES = 16384;
  static final long IDLE_TIMEOUT_SECONDS = 300;

  private ServerPipelines() {}

  /** What the first bytes of a connection say it speaks. */
  enum Detected {
    TLS,
    HTTP2,
    OTHER
  }

  /** How long a connection may stay silent before its first bytes tell what it speaks. */
  static final Duration DEFAULT_DETECTION_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Waits for enough bytes to tell TLS, an HTTP/2 preface and anything else apart, then hands the
   * pipeline to {@code install} and replays the bytes. A connection that has not said enough within
   * {@code timeout} is closed and counted as refused: without the timer, clients that connect and
   * say nothing would hold the proxy's connections (and file descriptors) forever.
   */
  static final class Sniffer extends ByteToMessageDecoder {
    private final Consumer<Detected> install;
    private final Duration timeout;
    private final ProxyStats stats;
    private ScheduledFuture<?> timer;
    private boolean detected;

    Sniffer(Consumer<Detected> install, Duration timeout, ProxyStats stats) {
      this.install = install;
      this.timeout = timeout;
      this.stats = stats;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      timer =
          ctx.executor()
              .schedule(
                  () -> {
                    if (!detected && ctx.channel().isActive()) {
                      stats.rejected(
                          "no protocol from "
                              + ctx.channel().remoteAddress()
                              + " within "
                              + timeout.toMillis()
                              + " ms of connecting");
                      ctx.close();
                    }
                  },
                  timeout.toNanos(),
                  TimeUnit.NANOSECONDS);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
      if (timer != null) {
        timer.cancel(false);
      }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      if (!in.isReadable()) {
        return;
      }
      Detected detected;
      if (in.getUnsignedByte(in.readerIndex()) == 0x16) {
        detected = Detected.TLS;
      } else {
        ByteBuf preface = Http2CodecUtil.connectionPrefaceBuf();
        int n = Math.min(in.readableBytes(), preface.readableBytes());
        boolean prefix = ByteBufUtil.equals(in, in.readerIndex(), preface, 0, n);
        preface.release();
        if (prefix && n < 24) {
          return; // could still be HTTP/2: wait for more
        }
        detected = prefix ? Detected.HTTP2 : Detected.OTHER;
      }
      this.detected = true;
      install.accept(detected);
      ctx.pipeline().remove(this); // remaining bytes go on to the new handlers
    }
  }

  static void http1(ChannelPipeline pipeline, HttpListener listener) {
    pipeline.addLast(new IdleStateHandler(0, 0, IDLE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    pipeline.addLast(new IdleCloser());
    pipeline.addLast(new BytesSeen());
    pipeline.addLast(new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_BYTES, 65536));
    pipeline.addLast(new HttpServerExpectContinueHandler());
    pipeline.addLast(listener.handler(false));
  }

  static void http2(ChannelPipeline pipeline, HttpListener listener) {
    pipeline.addLast(new IdleStateHandler(0, 0, IDLE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    pipeline.addLast(new IdleCloser());
    pipeline.addLast(
        Http2FrameCodecBuilder.forServer()
            .initialSettings(
                Http2Settings.defaultSettings()
                    .maxHeaderListSize(MAX_HEADER_BYTES)
                    .initialWindowSize(1 << 20)
                    .maxConcurrentStreams(1000))
            .build());
    pipeline.addLast(
        new Http2MultiplexHandler(
            new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
                ch.pipeline().addLast(listener.handler(true));
              }
            }));
  }

  /** Counts the bytes a connection has received: tells a slow request from an idle connection. */
  static final class BytesSeen extends io.netty.channel.ChannelInboundHandlerAdapter {
    private long count;

    long count() {
      return count;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buf) {
        count += buf.readableBytes();
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Closes connections idle for longer than the idle timeout. */
  private static final class IdleCloser extends io.netty.channel.ChannelDuplexHandler {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent) {
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
    }
  }
}
