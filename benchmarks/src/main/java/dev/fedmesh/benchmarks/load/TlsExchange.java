package dev.fedmesh.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;

/**
 * Fixed-size request/response over mutual TLS with a chosen SNI: a request is {@code size} bytes,
 * and its answer is complete when {@code size} bytes have come back.
 */
final class TlsExchange implements LoadGenerator.Protocol {
  private final SslContext tls;
  private final String sni;
  private final int size;
  private final ByteBuf request;

  TlsExchange(SslContext tls, String sni, int size) {
    this.tls = tls;
    this.sni = sni;
    this.size = size;
    this.request = Unpooled.unreleasableBuffer(Unpooled.directBuffer(size).writeZero(size));
  }

  @Override
  public void init(Channel channel, LoadGenerator.Connection connection) {
    channel
        .pipeline()
        .addLast(MeshTls.clientHandler(tls, channel.alloc(), sni))
        .addLast(
            new ChannelInboundHandlerAdapter() {
              private long received;

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf bytes = (ByteBuf) msg;
                received += bytes.readableBytes();
                bytes.release();
                while (received >= size) {
                  received -= size;
                  connection.answered();
                }
              }

              @Override
              public void channelInactive(ChannelHandlerContext ctx) {
                connection.closed();
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
  }

  @Override
  public Future<?> ready(Channel channel) {
    return channel.pipeline().get(SslHandler.class).handshakeFuture();
  }

  @Override
  public void send(Channel channel) {
    channel.writeAndFlush(request.retainedDuplicate(), channel.voidPromise());
  }
}
