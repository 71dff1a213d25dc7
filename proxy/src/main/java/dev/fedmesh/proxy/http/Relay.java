package dev.fedmesh.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Copies bytes from its channel to a peer channel with backpressure: when the peer cannot take
 * more, this side stops reading until it can. Closing either side closes the other once what was
 * written has been flushed. Install one on each side of a tunnel.
 */
public final class Relay extends ChannelInboundHandlerAdapter {
  private final Channel peer;

  public Relay(Channel peer) {
    this.peer = peer;
  }

  /** Joins two connected channels both ways and starts reading on both. */
  public static void splice(Channel a, Channel b) {
    a.pipeline().addLast(new Relay(b));
    b.pipeline().addLast(new Relay(a));
    a.config().setAutoRead(true);
    b.config().setAutoRead(true);
    a.read();
    b.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    peer.writeAndFlush(msg, peer.voidPromise());
    if (!peer.isWritable()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    // This side drained: the peer may read again.
    if (ctx.channel().isWritable()) {
      peer.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closeOnFlush(peer);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
    closeOnFlush(peer);
  }

  static void closeOnFlush(Channel channel) {
    if (channel.isActive()) {
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
