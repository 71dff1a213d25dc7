package dev.fedmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelDuplexHandler;
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
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The HTTP/1.1 and HTTP/2 server pipelines both listeners use, and first-bytes detection. */
final class ServerPipelines {
  static final int MAX_INITIAL_LINE = 8192;
  static final int MAX_HEADER_BYTES = 16384;

  /** How long a downstream connection may neither read nor write before it is closed. */
  static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);

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
    pipeline.addLast(new Activity(IDLE_TIMEOUT));
    pipeline.addLast(new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_BYTES, 65536));
    pipeline.addLast(new HttpServerExpectContinueHandler());
    pipeline.addLast(listener.handler(false));
  }

  static void http2(ChannelPipeline pipeline, HttpListener listener) {
    pipeline.addLast(new Activity(IDLE_TIMEOUT));
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

  /**
   * A server connection's activity: how many bytes it has received (which tells a slow request from
   * an idle connection) and when it last read or flushed. A connection that does neither for the
   * idle timeout is closed. The timeout is a {@link Deadline} set again on each read and flush, so
   * a request costs two clock reads: no timer of its own, and no listener on each write as Netty's
   * IdleStateHandler adds (1% of a sidecar's CPU under load).
   */
  static final class Activity extends ChannelDuplexHandler {
    private final long idleNanos;
    private long bytesRead;
    private Deadline idle;
    private Runnable close;

    Activity(Duration idle) {
      if (idle.isNegative() || idle.isZero()) {
        throw new IllegalArgumentException("idle timeout " + idle + " (expected: positive)");
      }
      this.idleNanos = idle.toNanos();
    }

    /** Bytes received so far, TLS records included where TLS ends before this handler. */
    long bytesRead() {
      return bytesRead;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      idle = new Deadline(ctx.executor());
      close = ctx::close;
      if (ctx.channel().isActive()) {
        active();
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      active();
      ctx.fireChannelActive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      idle.stop();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      idle.stop();
      ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buf) {
        bytesRead += buf.readableBytes();
      }
      active();
      ctx.fireChannelRead(msg);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      active();
      ctx.flush();
    }

    private void active() {
      idle.set(idleNanos, TimeUnit.NANOSECONDS, close);
    }
  }
}
