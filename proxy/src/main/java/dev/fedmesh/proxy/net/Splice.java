package dev.fedmesh.proxy.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One direction of a spliced connection: what this channel reads is written to its peer, as is.
 * Both channels of a pair run on the same event loop.
 *
 * <ul>
 *   <li>Backpressure: while the peer cannot take more (its outbound buffer is over the high water
 *       mark) this channel stops reading, and reads again once the peer drains.
 *   <li>Half-close: when this side finishes sending, the peer's output is shut down after what is
 *       queued has been written; a channel is closed once both its directions are done.
 *   <li>When either channel closes, the other is closed after its queued bytes are flushed.
 * </ul>
 */
public final class Splice extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(Splice.class);

  private final Channel peer;
  private final LongConsumer bytes;

  /**
   * @param peer where this channel's bytes go
   * @param bytes counts the bytes this channel reads
   */
  public Splice(Channel peer, LongConsumer bytes) {
    this.peer = peer;
    this.bytes = bytes;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf) || !peer.isActive()) {
      ReferenceCountUtil.release(msg);
      return;
    }
    bytes.accept(buf.readableBytes());
    peer.write(buf).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    if (!peer.isWritable()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    peer.flush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    // This channel carries the peer's bytes: the peer reads only while this channel can take them.
    peer.config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      // This side is done sending: so is the peer's output, once what is queued is written.
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER)
          .addListener(
              (ChannelFutureListener)
                  written -> {
                    if (peer instanceof DuplexChannel duplex && peer.isActive()) {
                      duplex.shutdownOutput().addListener(shut -> closeIfDone(peer));
                    }
                  });
      closeIfDone(ctx.channel());
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Closes a channel both of whose directions are finished. */
  private static void closeIfDone(Channel channel) {
    if (channel instanceof DuplexChannel duplex
        && duplex.isInputShutdown()
        && duplex.isOutputShutdown()) {
      channel.close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closeOnFlush(peer);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("closing spliced connection {}: {}", ctx.channel(), cause.toString());
    ctx.close();
  }

  /**
   * Joins two connected channels of one event loop both ways, without counting, and starts reading
   * on both. The channels should allow half-closure so that each direction ends alone.
   */
  public static void join(Channel a, Channel b) {
    join(a, b, n -> {}, n -> {});
  }

  /**
   * Joins two channels both ways, counting what each reads.
   *
   * @param aRead counts the bytes {@code a} reads (and {@code b} is sent)
   * @param bRead counts the bytes {@code b} reads (and {@code a} is sent)
   */
  public static void join(Channel a, Channel b, LongConsumer aRead, LongConsumer bRead) {
    a.pipeline().addLast(new Splice(b, aRead));
    b.pipeline().addLast(new Splice(a, bRead));
    a.config().setAutoRead(true);
    b.config().setAutoRead(true);
    a.read();
    b.read();
  }

  /** Closes {@code channel} once what is queued on it has been written. */
  public static void closeOnFlush(Channel channel) {
    if (channel.isActive()) {
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
