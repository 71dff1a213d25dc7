package dev.fedmesh.proxy.intercept;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Tells an intercepted outbound connection's protocol by its first bytes, as Envoy's {@code
 * http_inspector}: an HTTP/1.x request line starts with a method and a space, HTTP/2 with its
 * connection preface; anything else (TLS the application made itself, a binary protocol) is opaque
 * TCP. A connection that says nothing within {@code timeout} is opaque too: server-first protocols
 * (SMTP, MySQL) wait for the server to speak. The bytes read are passed on to what is installed.
 */
final class OutboundSniffer extends ByteToMessageDecoder {
  /** What the first bytes say. */
  enum Protocol {
    HTTP1,
    HTTP2,
    OPAQUE
  }

  private static final List<byte[]> METHODS =
      List.of(
              "GET ",
              "HEAD ",
              "POST ",
              "PUT ",
              "DELETE ",
              "OPTIONS ",
              "PATCH ",
              "TRACE ",
              "CONNECT ")
          .stream()
          .map(m -> m.getBytes(US_ASCII))
          .toList();
  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(US_ASCII);

  private final Consumer<Protocol> install;
  private final Duration timeout;
  private ScheduledFuture<?> timer;
  private boolean decided;

  OutboundSniffer(Consumer<Protocol> install, Duration timeout) {
    this.install = install;
    this.timeout = timeout;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    timer =
        ctx.executor()
            .schedule(
                () -> {
                  if (!decided && ctx.channel().isActive()) {
                    decide(ctx, Protocol.OPAQUE);
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
    if (decided || !in.isReadable()) {
      return;
    }
    Protocol protocol = classify(in);
    if (protocol != null) {
      decide(ctx, protocol);
    }
  }

  private void decide(ChannelHandlerContext ctx, Protocol protocol) {
    decided = true;
    install.accept(protocol);
    ctx.pipeline().remove(this); // the bytes read so far go on to the installed handlers
  }

  /** The protocol the bytes so far show, or null while they could still be more than one. */
  static Protocol classify(ByteBuf in) {
    if (startsWith(in, H2_PREFACE)) {
      return in.readableBytes() >= H2_PREFACE.length ? Protocol.HTTP2 : null;
    }
    boolean couldBeMethod = false;
    for (byte[] method : METHODS) {
      if (startsWith(in, method)) {
        if (in.readableBytes() >= method.length) {
          return Protocol.HTTP1;
        }
        couldBeMethod = true;
      }
    }
    return couldBeMethod ? null : Protocol.OPAQUE;
  }

  /** Whether the readable bytes agree with {@code prefix} as far as both go. */
  private static boolean startsWith(ByteBuf in, byte[] prefix) {
    int n = Math.min(in.readableBytes(), prefix.length);
    for (int i = 0; i < n; i++) {
      if (in.getByte(in.readerIndex() + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
