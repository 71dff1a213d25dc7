package dev.fedmesh.proxy.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Queue;

/**
 * Keeps what a downstream connection sends while its upstream connection is being opened: the bytes
 * a protocol sniffer has already read (and hands on when it leaves the pipeline), and any that
 * arrive before the upstream stands. {@link #drainTo} writes them upstream, in order, and leaves
 * the pipeline; a client that speaks first loses nothing.
 */
public final class HeldBytes extends ChannelInboundHandlerAdapter {
  private final Queue<ByteBuf> held = new ArrayDeque<>();
  private long drained;
  private ChannelHandlerContext ctx;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf buf) {
      held.add(buf);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** Writes what is held to {@code upstream} and leaves the pipeline. */
  public void drainTo(Channel upstream) {
    ByteBuf buf;
    boolean wrote = false;
    while ((buf = held.poll()) != null) {
      drained += buf.readableBytes();
      upstream.write(buf);
      wrote = true;
    }
    if (wrote) {
      upstream.flush();
    }
    if (ctx != null && !ctx.isRemoved()) {
      ctx.pipeline().remove(this);
    }
  }

  /** The bytes {@link #drainTo} wrote upstream. */
  public long drained() {
    return drained;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    ByteBuf buf;
    while ((buf = held.poll()) != null) {
      buf.release();
    }
  }
}
