package dev.fedmesh.proxy.dns;

import dev.fedmesh.proxy.net.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.NetUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An upstream resolver for tests, on 127.0.0.1, UDP and TCP on one port: it records every query it
 * receives and answers as its {@link Behaviour} says (or stays silent).
 */
public final class FakeResolver implements AutoCloseable {
  /** One query received: its ID, question, transport and where it came from. */
  public record Received(
      int id, String name, int type, boolean tcp, InetSocketAddress sender, byte[] wire) {}

  /** The answer to a query, or null for none. */
  public interface Behaviour {
    byte[] reply(byte[] query, boolean tcp);
  }

  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final Channel udp;
  private final Channel tcp;

  private FakeResolver(EventLoopGroup group, Behaviour behaviour) throws InterruptedException {
    Channel boundUdp = null;
    Channel boundTcp = null;
    for (int attempt = 0; boundTcp == null; attempt++) {
      boundUdp =
          new Bootstrap()
              .group(group)
              .channel(Transports.datagramChannel(group))
              .handler(
                  new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                      byte[] query = ByteBufUtil.getBytes(packet.content());
                      received.add(received(query, false, packet.sender()));
                      byte[] reply = behaviour.reply(query, false);
                      if (reply != null) {
                        ctx.writeAndFlush(
                            new DatagramPacket(Unpooled.wrappedBuffer(reply), packet.sender()));
                      }
                    }
                  })
              .bind(new InetSocketAddress("127.0.0.1", 0))
              .sync()
              .channel();
      try {
        boundTcp =
            new ServerBootstrap()
                .group(group)
                .channel(Transports.serverChannel(group))
                .childHandler(
                    new ChannelInitializer<Channel>() {
                      @Override
                      protected void initChannel(Channel ch) {
                        ch.pipeline()
                            .addLast(
                                new LengthFieldBasedFrameDecoder(65537, 0, 2, 0, 2),
                                new SimpleChannelInboundHandler<ByteBuf>() {
                                  @Override
                                  protected void channelRead0(
                                      ChannelHandlerContext ctx, ByteBuf frame) {
                                    byte[] query = ByteBufUtil.getBytes(frame);
                                    received.add(
                                        received(
                                            query,
                                            true,
                                            (InetSocketAddress) ctx.channel().remoteAddress()));
                                    byte[] reply = behaviour.reply(query, true);
                                    if (reply != null) {
                                      ByteBuf framed = ctx.alloc().buffer(2 + reply.length);
                                      framed.writeShort(reply.length).writeBytes(reply);
                                      ctx.writeAndFlush(framed);
                                    }
                                  }
                                });
                      }
                    })
                .bind((InetSocketAddress) boundUdp.localAddress())
                .sync()
                .channel();
      } catch (Exception e) {
        boundUdp.close().sync();
        if (attempt > 5) {
          throw new IllegalStateException(e);
        }
      }
    }
    this.udp = boundUdp;
    this.tcp = boundTcp;
  }

  public static FakeResolver start(EventLoopGroup group, Behaviour behaviour)
      throws InterruptedException {
    return new FakeResolver(group, behaviour);
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) udp.localAddress();
  }

  /** The next query received, waiting up to 5 s; fails the test if none came. */
  public Received next() throws InterruptedException {
    Received next = received.poll(5, TimeUnit.SECONDS);
    if (next == null) {
      throw new AssertionError("the fake resolver at " + address() + " received no query");
    }
    return next;
  }

  /** Queries received and not yet taken by {@link #next}. */
  public List<Received> pending() {
    return List.copyOf(received);
  }

  /** Sends {@code reply} over UDP to whoever sent {@code query}. */
  public void replyUdp(Received query, byte[] reply) {
    udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(reply), query.sender()));
  }

  /** Answers A and AAAA queries with the addresses of their family, others with none. */
  public static Behaviour answering(String... addresses) {
    return (query, tcp) -> answer(query, false, List.of(addresses));
  }

  public static Behaviour silent() {
    return (query, tcp) -> null;
  }

  /**
   * Over UDP, a truncated answer (TC, no records); over TCP, the whole answer: a resolver whose
   * answer is too large for a datagram.
   */
  public static Behaviour truncatingUdp(String... addresses) {
    return (query, tcp) -> answer(query, !tcp, tcp ? List.of(addresses) : List.of());
  }

  /**
   * The answer to {@code query}: its ID and question, QR, RD and RA set, TC as given, one A or AAAA
   * record per address of the query's type (the owner a pointer to the question).
   */
  public static byte[] answer(byte[] query, boolean truncated, List<String> addresses) {
    int questionEnd = questionEnd(query);
    int type = DownstreamQuery.u16(query, questionEnd - 4);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<byte[]> records =
        addresses.stream()
            .map(NetUtil::createByteArrayFromIpAddressString)
            .filter(a -> (type == 1 && a.length == 4) || (type == 28 && a.length == 16))
            .toList();
    out.write(query[0]);
    out.write(query[1]);
    int flags = 0x8000 | 0x0100 | 0x0080 | (truncated ? 0x0200 : 0);
    out.write(flags >> 8);
    out.write(flags & 0xFF);
    out.writeBytes(new byte[] {0, 1, 0, (byte) records.size(), 0, 0, 0, 0});
    out.write(query, 12, questionEnd - 12);
    for (byte[] address : records) {
      out.writeBytes(new byte[] {(byte) 0xC0, 12, 0, (byte) type, 0, 1, 0, 0, 0, 60, 0});
      out.write(address.length);
      out.writeBytes(address);
    }
    return out.toByteArray();
  }

  private static Received received(byte[] query, boolean tcp, InetSocketAddress sender) {
    int questionEnd = questionEnd(query);
    StringBuilder name = new StringBuilder();
    for (int at = 12; query[at] != 0; at += 1 + query[at]) {
      name.append(new String(query, at + 1, query[at], StandardCharsets.US_ASCII)).append('.');
    }
    return new Received(
        DownstreamQuery.u16(query, 0),
        name.toString(),
        DownstreamQuery.u16(query, questionEnd - 4),
        tcp,
        sender,
        query);
  }

  private static int questionEnd(byte[] query) {
    int at = 12;
    while (query[at] != 0) {
      at += 1 + query[at];
    }
    return at + 5;
  }

  @Override
  public void close() {
    udp.close().syncUninterruptibly();
    tcp.close().syncUninterruptibly();
  }
}
