package dev.fedmesh.benchmarks.load;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;

/**
 * A workload behind the gateway, standing in for a sidecar's inbound port: mutual TLS, then for
 * every {@code size} bytes received it answers {@code size} bytes.
 */
final class TlsResponder implements AutoCloseable {
  private final Channel server;

  TlsResponder(EventLoopGroup group, SslContext tls, int size) throws InterruptedException {
    ByteBuf answer = Unpooled.unreleasableBuffer(Unpooled.directBuffer(size).writeZero(size));
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(tls.newHandler(ch.alloc()))
                        .addLast(new Answer(answer, size));
                  }
                })
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .sync()
            .channel();
  }

  InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
  }

  private static final class Answer extends ChannelInboundHandlerAdapter {
    private final ByteBuf answer;
    private final int size;
    private long received;

    Answer(ByteBuf answer, int size) {
      this.answer = answer;
      this.size = size;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      received += bytes.readableBytes();
      bytes.release();
      boolean wrote = false;
      while (received >= size) {
        received -= size;
        ctx.write(answer.retainedDuplicate(), ctx.voidPromise());
        wrote = true;
      }
      if (wrote) {
        ctx.flush();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
