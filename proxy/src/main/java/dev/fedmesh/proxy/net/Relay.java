package dev.fedmesh.proxy.net;

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
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opaque TCP from an accepted connection to an upstream that is still being connected: what the
 * downstream sends meanwhile is held, not lost (a TLS record decoded with the handshake's last
 * message, the first bytes a client sends), written to the upstream first once it is connected, and
 * then both are {@link Splice spliced}.
 */
public final class Relay {
  private static final Logger log = LoggerFactory.getLogger(Relay.class);

  private final Hold hold = new Hold();
  private final Channel downstream;

  private Relay(Channel downstream) {
    this.downstream = downstream;
  }

  /** Starts holding what {@code downstream} sends; call {@link #join} once the upstream is up. */
  public static Relay hold(Channel downstream) {
    Relay relay = new Relay(downstream);
    downstream.config().setAutoRead(false);
    downstream.pipeline().addLast(relay.hold);
    downstream.read();
    return relay;
  }

  /**
   * Holds what {@code downstream} sends, connects to {@code address} in plaintext on its event
   * loop, then relays both ways; {@code onFailure} runs (and the downstream is closed) when the
   * connection cannot be made.
   */
  public static void connect(
      Channel downstream,
      InetSocketAddress address,
      int connectTimeoutMillis,
      Consumer<Throwable> onFailure) {
    connect(downstream, address, connectTimeoutMillis, onFailure, Counters.NONE);
  }

  /** What a relay counts: the bytes each side sends. */
  public record Counters(LongConsumer downstreamSent, LongConsumer upstreamSent) {
    public static final Counters NONE = new Counters(n -> {}, n -> {});
  }

  /** As {@link #connect(Channel, InetSocketAddress, int, Consumer)}, counting the bytes. */
  public static void connect(
      Channel downstream,
      InetSocketAddress address,
      int connectTimeoutMillis,
      Consumer<Throwable> onFailure,
      Counters counters) {
    Relay relay = hold(downstream);
    new Bootstrap()
        .group(downstream.eventLoop())
        .channel(Transports.socketChannel(downstream.eventLoop()))
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {}
            })
        .connect(address)
        .addListener(
            (ChannelFuture f) -> {
              if (f.isSuccess()) {
                relay.join(f.channel(), counters);
              } else {
                onFailure.accept(f.cause());
                downstream.close();
              }
            });
  }

  /** Writes what was held to {@code upstream}, then splices the two; closes both if late. */
  public void join(Channel upstream) {
    join(upstream, Counters.NONE);
  }

  /** As {@link #join(Channel)}, counting the bytes each side sends. */
  public void join(Channel upstream, Counters counters) {
    if (!downstream.isActive()) {
      upstream.close();
      return;
    }
    counters.downstreamSent().accept(hold.release(upstream));
    boolean inputClosed = hold.inputClosed;
    Splice.join(downstream, upstream, counters.downstreamSent(), counters.upstreamSent());
    if (inputClosed) {
      downstream.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    }
  }

  /**
   * Keeps what the downstream sends before the upstream is connected, reading on while little is
   * held, then hands it over in order and leaves the pipeline.
   */
  private static final class Hold extends ChannelInboundHandlerAdapter {
    private static final int MAX_HELD_READS = 16;
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
      if (held.size() < MAX_HELD_READS) {
        ctx.read();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        inputClosed = true; // replayed once the splice is in place
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      while (!held.isEmpty()) {
        held.poll().release();
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("relayed connection {} failed: {}", ctx.channel(), cause.toString());
      ctx.close();
    }

    /** Writes what is held to {@code upstream} and leaves; the bytes written. */
    long release(Channel upstream) {
      long bytes = 0;
      while (!held.isEmpty()) {
        ByteBuf buf = held.poll();
        bytes += buf.readableBytes();
        upstream.write(buf);
      }
      upstream.flush();
      context.pipeline().remove(this);
      return bytes;
    }
  }
}
