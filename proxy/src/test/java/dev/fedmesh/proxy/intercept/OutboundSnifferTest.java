package dev.fedmesh.proxy.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** HTTP is told from other TCP by the first bytes an application sends. */
class OutboundSnifferTest {
  @Test
  void requestLinesArePlainHttpAndThePrefaceIsHttp2() {
    assertThat(classify("GET /hello HTTP/1.1\r\n")).isEqualTo(OutboundSniffer.Protocol.HTTP1);
    assertThat(classify("DELETE /x HTTP/1.1\r\n")).isEqualTo(OutboundSniffer.Protocol.HTTP1);
    assertThat(classify("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
        .isEqualTo(OutboundSniffer.Protocol.HTTP2);
  }

  @Test
  void aPrefixThatCouldStillBeHttpWaitsForMoreBytes() {
    assertThat(classify("GE")).isNull();
    assertThat(classify("PRI * HT")).isNull();
  }

  @Test
  void anythingElseIsOpaqueTcp() {
    assertThat(classify("PING\r\n")).isEqualTo(OutboundSniffer.Protocol.OPAQUE);
    assertThat(classify("get / HTTP/1.1")).isEqualTo(OutboundSniffer.Protocol.OPAQUE);
    ByteBuf tls = Unpooled.wrappedBuffer(new byte[] {0x16, 0x03, 0x01});
    assertThat(OutboundSniffer.classify(tls)).isEqualTo(OutboundSniffer.Protocol.OPAQUE);
  }

  private static OutboundSniffer.Protocol classify(String text) {
    return OutboundSniffer.classify(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
  }

  /** A ClientHello as the JDK's TLS client sends it, naming {@code sni} (none when null). */
  static byte[] clientHello(String sni) throws Exception {
    javax.net.ssl.SSLEngine engine =
        javax.net.ssl.SSLContext.getDefault().createSSLEngine("unused.test", 443);
    engine.setUseClientMode(true);
    javax.net.ssl.SSLParameters parameters = engine.getSSLParameters();
    parameters.setServerNames(
        sni == null ? java.util.List.of() : java.util.List.of(new javax.net.ssl.SNIHostName(sni)));
    engine.setSSLParameters(parameters);
    java.nio.ByteBuffer out =
        java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.beginHandshake();
    engine.wrap(java.nio.ByteBuffer.allocate(0), out);
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    return bytes;
  }

  @Test
  void aClientHellosServerNameIsReadOnceItIsWhole() throws Exception {
    byte[] hello = clientHello("api.example.com");
    ByteBuf whole = Unpooled.wrappedBuffer(hello);

    assertThat(OutboundSniffer.startsTls(whole)).isTrue();
    OutboundSniffer.ClientHello read = OutboundSniffer.ClientHello.read(whole);
    assertThat(read.complete()).isTrue();
    assertThat(read.serverName()).contains("api.example.com");
    // Nothing was consumed: the bytes go on to the upstream as they came.
    assertThat(whole.readableBytes()).isEqualTo(hello.length);

    ByteBuf part = Unpooled.wrappedBuffer(hello, 0, hello.length / 2);
    assertThat(OutboundSniffer.ClientHello.read(part).complete()).isFalse();

    OutboundSniffer.ClientHello nameless =
        OutboundSniffer.ClientHello.read(Unpooled.wrappedBuffer(clientHello(null)));
    assertThat(nameless.complete()).isTrue();
    assertThat(nameless.serverName()).isEmpty();
  }

  @Test
  void aSnifferReadingServerNamesTellsTlsWithItsNameAcrossReads() throws Exception {
    byte[] hello = clientHello("db.example.com");
    java.util.List<OutboundSniffer.Detected> detected = new java.util.ArrayList<>();
    io.netty.channel.embedded.EmbeddedChannel channel =
        new io.netty.channel.embedded.EmbeddedChannel(
            new OutboundSniffer(detected::add, java.time.Duration.ofSeconds(5), true));

    channel.writeInbound(Unpooled.wrappedBuffer(hello, 0, 100));
    assertThat(detected).isEmpty();
    channel.writeInbound(Unpooled.wrappedBuffer(hello, 100, hello.length - 100));

    assertThat(detected)
        .containsExactly(
            new OutboundSniffer.Detected(
                OutboundSniffer.Protocol.TLS, java.util.Optional.of("db.example.com")));
    ByteBuf passed = channel.readInbound();
    assertThat(passed.readableBytes()).isEqualTo(hello.length);
    passed.release();
    channel.finishAndReleaseAll();
  }
}
