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
}
