package dev.fedmesh.proxy.dns;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * One forwarded query, from the client's question to the upstream answer or the bound: the query's
 * bytes are relayed as they came, each try with a fresh random query ID (restored in the answer)
 * from a socket of its own, so the system picks a fresh random source port too. An answer counts
 * only from the resolver asked, with that try's ID and the question asked (RFC 5452). Over UDP the
 * next resolver is tried when a try stays silent (see {@link UpstreamResolvers}); a UDP answer with
 * TC set is asked again over TCP of the same resolver, and if that fails the truncated answer is
 * relayed so the client can ask over TCP itself. Queries that came over TCP, or every query under
 * {@code use_tcp_for_dns_lookups}, go over TCP.
 *
 * <p>Everything runs on the client channel's event loop, where the sockets are registered too.
 */
final class UpstreamLookup {
  /** Upstream answers can be as large as DNS over TCP allows. */
  static final int MAX_ANSWER_BYTES = 65535;

  /** How a lookup ends; called once, on the event loop. */
  interface Outcome {
    /** The upstream answer, its ID already the client's. */
    void answered(byte[] answer);

    /** No answer within the bound, or nowhere to ask: {@code reason} is a metric label. */
    void failed(String reason);
  }

  private final EventLoop loop;
  private final Class<? extends DatagramChannel> udpChannel;
  private final Class<? extends Channel> tcpChannel;
  private final UpstreamResolvers plan;
  private final RandomGenerator random;
  private final DownstreamQuery query;
  private final boolean overTcp;
  private final DnsMetrics metrics;
  private final Outcome outcome;

  private final List<Channel> sockets = new ArrayList<>();
  private final List<ScheduledFuture<?>> timers = new ArrayList<>();
  private final long deadlineNanos;

  /** The try whose silence starts the next one; -1 once no further try is to be started. */
  private int currentTry = -1;

  private int triesStarted;
  private boolean finished;

  /** A UDP answer with TC set, relayed if asking again over TCP fails. */
  private byte[] truncatedAnswer;

  UpstreamLookup(
      EventLoop loop,
      Class<? extends DatagramChannel> udpChannel,
      Class<? extends Channel> tcpChannel,
      UpstreamResolvers plan,
      RandomGenerator random,
      DownstreamQuery query,
      boolean overTcp,
      DnsMetrics metrics,
      Outcome outcome) {
    this.loop = loop;
    this.udpChannel = udpChannel;
    this.tcpChannel = tcpChannel;
    this.plan = plan;
    this.random = random;
    this.query = query;
    this.overTcp = overTcp;
    this.metrics = metrics;
    this.outcome = outcome;
    this.deadlineNanos = System.nanoTime() + plan.timeout().toNanos();
  }

  void start() {
    assert loop.inEventLoop();
    if (plan.resolvers().isEmpty()) {
      finish(null, "no_resolvers");
      return;
    }
    timers.add(
        loop.schedule(
            () -> finish(truncatedAnswer, truncatedAnswer == null ? "timeout" : null),
            plan.timeout().toNanos(),
            TimeUnit.NANOSECONDS));
    nextTry();
  }

  /** Starts the next try, if there is one; its silence for the try timeout starts the one after. */
  private void nextTry() {
    int tries = overTcp ? plan.resolvers().size() : plan.udpTries();
    if (finished || triesStarted >= tries) {
      currentTry = -1;
      return; // earlier tries may still answer until the deadline
    }
    int index = triesStarted++;
    currentTry = index;
    InetSocketAddress resolver = plan.resolver(index);
    Duration wait = overTcp ? plan.tcpTryTimeout() : plan.udpTryTimeout();
    String protocol = overTcp ? "tcp" : "udp";
    timers.add(
        loop.schedule(
            () -> {
              if (!finished && currentTry == index) {
                metrics.tryFailed(protocol, "timeout");
                nextTry();
              }
            },
            wait.toNanos(),
            TimeUnit.NANOSECONDS));
    if (overTcp) {
      askOverTcp(index, resolver);
    } else {
      askOverUdp(index, resolver);
    }
  }

  private void tryFailed(int index, String protocol, String reason) {
    if (finished) {
      return;
    }
    metrics.tryFailed(protocol, reason);
    if (truncatedAnswer != null) {
      finish(truncatedAnswer, null); // TCP after TC failed: the client may try TCP itself
    } else if (currentTry == index) {
      nextTry();
    }
  }

  private void askOverUdp(int index, InetSocketAddress resolver) {
    int id = random.nextInt(0x10000);
    Bootstrap bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(udpChannel)
            .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_ANSWER_BYTES))
            .handler(
                new SimpleChannelInboundHandler<Object>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, Object message) {
                    ByteBuf content =
                        message instanceof DatagramPacket packet
                            ? packet.content()
                            : (ByteBuf) message;
                    onUdpAnswer(resolver, id, ByteBufUtil.getBytes(content));
                  }

                  @Override
                  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    // ICMP port unreachable arrives here on a connected socket: try the next.
                    tryFailed(index, "udp", "unreachable");
                  }
                });
    // Connected: the kernel passes only datagrams from the resolver asked.
    ChannelFuture connect = bootstrap.connect(resolver);
    sockets.add(connect.channel());
    connect.addListener(
        connected -> {
          if (!connected.isSuccess()) {
            tryFailed(index, "udp", "unreachable");
            return;
          }
          connect
              .channel()
              .writeAndFlush(Unpooled.wrappedBuffer(withId(id)))
              .addListener(
                  written -> {
                    if (!written.isSuccess()) {
                      tryFailed(index, "udp", "unreachable");
                    }
                  });
        });
  }

  private void onUdpAnswer(InetSocketAddress resolver, int id, byte[] answer) {
    if (finished || truncatedAnswer != null) {
      return;
    }
    if (!answers(answer, id)) {
      metrics.tryFailed("udp", "mismatched");
      return;
    }
    if ((DownstreamQuery.u16(answer, 2) & 0x0200) != 0) {
      // TC: the whole answer is only to be had over TCP, from the same resolver.
      truncatedAnswer = clientId(answer);
      currentTry = -1;
      metrics.tcpRetry();
      askOverTcp(-1, resolver);
      return;
    }
    finish(clientId(answer), null);
  }

  private void askOverTcp(int index, InetSocketAddress resolver) {
    int id = random.nextInt(0x10000);
    long remainingMillis =
        Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    Bootstrap bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(tcpChannel)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, remainingMillis))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(
                            new LengthFieldBasedFrameDecoder(MAX_ANSWER_BYTES + 2, 0, 2, 0, 2),
                            new SimpleChannelInboundHandler<ByteBuf>() {
                              @Override
                              protected void channelRead0(
                                  ChannelHandlerContext ctx, ByteBuf frame) {
                                byte[] answer = ByteBufUtil.getBytes(frame);
                                if (answers(answer, id)) {
                                  finish(clientId(answer), null);
                                } else {
                                  metrics.tryFailed("tcp", "mismatched");
                                  ctx.close();
                                }
                              }

                              @Override
                              public void channelInactive(ChannelHandlerContext ctx) {
                                tryFailed(index, "tcp", "closed");
                              }

                              @Override
                              public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
                                ctx.close();
                              }
                            });
                  }
                });
    ChannelFuture connect = bootstrap.connect(resolver);
    sockets.add(connect.channel());
    connect.addListener(
        connected -> {
          if (!connected.isSuccess()) {
            tryFailed(index, "tcp", "unreachable");
            return;
          }
          byte[] wire = withId(id);
          ByteBuf framed = connect.channel().alloc().buffer(2 + wire.length);
          framed.writeShort(wire.length).writeBytes(wire);
          connect.channel().writeAndFlush(framed);
        });
  }

  private void finish(byte[] answer, String failure) {
    if (finished) {
      return;
    }
    finished = true;
    for (ScheduledFuture<?> timer : timers) {
      timer.cancel(false);
    }
    for (Channel socket : sockets) {
      socket.close();
    }
    if (answer != null) {
      outcome.answered(answer);
    } else {
      outcome.failed(failure);
    }
  }

  /** The client's query with another ID. */
  private byte[] withId(int id) {
    byte[] wire = query.wire().clone();
    wire[0] = (byte) (id >> 8);
    wire[1] = (byte) id;
    return wire;
  }

  private byte[] clientId(byte[] answer) {
    answer[0] = (byte) (query.id() >> 8);
    answer[1] = (byte) query.id();
    return answer;
  }

  /**
   * Whether {@code answer} answers this lookup's try with ID {@code id}: a response with that ID
   * whose question is the one asked (the name compared without case, RFC 4343). An error response
   * may come without the question.
   */
  boolean answers(byte[] answer, int id) {
    if (answer.length < DownstreamQuery.HEADER_BYTES
        || DownstreamQuery.u16(answer, 0) != id
        || (DownstreamQuery.u16(answer, 2) & 0x8000) == 0) {
      return false;
    }
    int questions = DownstreamQuery.u16(answer, 4);
    if (questions == 0) {
      return (DownstreamQuery.u16(answer, 2) & 0xF) != 0;
    }
    if (questions != 1) {
      return false;
    }
    byte[] asked = query.wire();
    int end = query.questionEnd();
    if (answer.length < end) {
      return false;
    }
    int at = DownstreamQuery.HEADER_BYTES;
    while (asked[at] != 0) {
      int length = asked[at] & 0xFF;
      if (answer[at] != asked[at]) {
        return false;
      }
      for (int i = at + 1; i <= at + length; i++) {
        if (asciiLower(answer[i]) != asciiLower(asked[i])) {
          return false;
        }
      }
      at += 1 + length;
    }
    for (; at < end; at++) {
      if (answer[at] != asked[at]) {
        return false;
      }
    }
    return true;
  }

  private static int asciiLower(byte b) {
    return b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b;
  }
}
