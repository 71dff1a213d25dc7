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
 *
 * <p>Where a chain may match by TLS server name, the sniffer also reads a TLS ClientHello to its
 * end, as Envoy's {@code tls_inspector} does, and tells its SNI; a ClientHello it cannot read, or
 * one without SNI, is TLS without a name.
 */
final class OutboundSniffer extends ByteToMessageDecoder {
  /** What the first bytes say. */
  enum Protocol {
    HTTP1,
    HTTP2,
    /** TLS the application made itself; told apart only when server names are read. */
    TLS,
    OPAQUE
  }

  /**
   * What the first bytes say.
   *
   * @param serverName for TLS, the ClientHello's SNI, when it has one
   */
  record Detected(Protocol protocol, java.util.Optional<String> serverName) {}

  /** The most of a ClientHello read before giving up on its name: Envoy's default limit. */
  static final int MAX_CLIENT_HELLO = 64 * 1024;

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

  private final Consumer<Detected> install;
  private final Duration timeout;
  private final boolean readServerName;
  private ScheduledFuture<?> timer;
  private boolean decided;

  /**
   * @param readServerName whether TLS is told apart from other opaque bytes, with its SNI
   */
  OutboundSniffer(Consumer<Detected> install, Duration timeout, boolean readServerName) {
    this.install = install;
    this.timeout = timeout;
    this.readServerName = readServerName;
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
    if (protocol == Protocol.OPAQUE && readServerName && startsTls(in)) {
      ClientHello hello = ClientHello.read(in);
      if (hello.complete()) {
        decided = true;
        install.accept(new Detected(Protocol.TLS, hello.serverName()));
        ctx.pipeline().remove(this);
      }
      return; // more of the ClientHello to come
    }
    if (protocol != null) {
      decide(ctx, protocol);
    }
  }

  private void decide(ChannelHandlerContext ctx, Protocol protocol) {
    decided = true;
    install.accept(new Detected(protocol, java.util.Optional.empty()));
    ctx.pipeline().remove(this); // the bytes read so far go on to the installed handlers
  }

  /** A TLS handshake record (content type 22, version 3.x) as far as the bytes go. */
  static boolean startsTls(ByteBuf in) {
    int at = in.readerIndex();
    return in.getByte(at) == 0x16 && (in.readableBytes() < 2 || in.getByte(at + 1) == 0x03);
  }

  /**
   * A ClientHello's server name (RFC 6066), read from the handshake records without consuming them.
   * The handshake message may span records.
   *
   * @param complete whether enough was read to decide (the name, or that there is none)
   */
  record ClientHello(boolean complete, java.util.Optional<String> serverName) {
    private static final ClientHello MORE = new ClientHello(false, java.util.Optional.empty());
    private static final ClientHello NAMELESS = new ClientHello(true, java.util.Optional.empty());

    static ClientHello read(ByteBuf in) {
      // Gather the handshake bytes of consecutive handshake records.
      io.netty.buffer.ByteBuf handshake = io.netty.buffer.Unpooled.buffer();
      try {
        int at = in.readerIndex();
        int end = in.writerIndex();
        while (true) {
          if (end - at < 5) {
            return end - in.readerIndex() >= MAX_CLIENT_HELLO ? NAMELESS : MORE;
          }
          if (in.getByte(at) != 0x16) {
            return NAMELESS;
          }
          int length = in.getUnsignedShort(at + 3);
          if (end - at - 5 < length) {
            return end - in.readerIndex() >= MAX_CLIENT_HELLO ? NAMELESS : MORE;
          }
          handshake.writeBytes(in, at + 5, length);
          at += 5 + length;
          if (handshake.readableBytes() >= 4) {
            if (handshake.getByte(0) != 0x01) {
              return NAMELESS; // not a ClientHello
            }
            int messageLength = handshake.getUnsignedMedium(1);
            if (messageLength + 4 > MAX_CLIENT_HELLO) {
              return NAMELESS;
            }
            if (handshake.readableBytes() >= messageLength + 4) {
              return new ClientHello(true, serverName(handshake.slice(4, messageLength)));
            }
          }
        }
      } catch (IndexOutOfBoundsException e) {
        return NAMELESS; // a malformed hello
      } finally {
        handshake.release();
      }
    }

    private static java.util.Optional<String> serverName(ByteBuf hello) {
      int at = 2 + 32; // client_version, random
      at += 1 + hello.getUnsignedByte(at); // session_id
      at += 2 + hello.getUnsignedShort(at); // cipher_suites
      at += 1 + hello.getUnsignedByte(at); // compression_methods
      if (at + 2 > hello.readableBytes()) {
        return java.util.Optional.empty(); // no extensions
      }
      int extensionsEnd = at + 2 + hello.getUnsignedShort(at);
      at += 2;
      while (at + 4 <= extensionsEnd) {
        int type = hello.getUnsignedShort(at);
        int length = hello.getUnsignedShort(at + 2);
        at += 4;
        if (type == 0) { // server_name
          int list = at + 2;
          int listEnd = list + hello.getUnsignedShort(at);
          while (list + 3 <= listEnd) {
            int nameType = hello.getUnsignedByte(list);
            int nameLength = hello.getUnsignedShort(list + 1);
            if (nameType == 0) { // host_name
              return java.util.Optional.of(
                  hello
                      .toString(list + 3, nameLength, US_ASCII)
                      .toLowerCase(java.util.Locale.ROOT));
            }
            list += 3 + nameLength;
          }
          return java.util.Optional.empty();
        }
        at += length;
      }
      return java.util.Optional.empty();
    }
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
