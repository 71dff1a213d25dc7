package dev.fedmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ClientHelloTest {
  private static final String SNI = "outbound_.8080_._.payments.default.svc.cluster.local";

  @Test
  void readsTheServerNameOfARealHello() {
    ByteBuf body = TlsHellos.body(TlsHellos.record(SNI));
    int before = body.readerIndex();

    assertThat(ClientHello.serverName(body)).contains(SNI);
    assertThat(body.readerIndex()).as("reading leaves the bytes to forward").isEqualTo(before);
  }

  @Test
  void aHelloWithoutServerNameHasNone() {
    assertThat(ClientHello.serverName(TlsHellos.body(TlsHellos.record(null)))).isEmpty();
  }

  @Test
  void serverNamesCompareLowerCase() {
    assertThat(ClientHello.serverName(TlsHellos.body(TlsHellos.record("Payments.Example"))))
        .contains("payments.example");
  }

  @Test
  void aTruncatedHelloNamesTheFieldThatRunsPastTheEnd() {
    byte[] body = bytes(TlsHellos.body(TlsHellos.record(SNI)));
    for (int length : new int[] {0, 1, 34, 40, body.length / 2, body.length - 1}) {
      ByteBuf truncated = Unpooled.wrappedBuffer(Arrays.copyOf(body, length));
      assertThatThrownBy(() -> ClientHello.serverName(truncated))
          .as("truncated to %d bytes", length)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("expected: at most the");
    }
  }

  @Test
  void aServerNameThatIsNotAHostNameIsMalformed() {
    byte[] record = TlsHellos.record("aaaa.example");
    byte[] body = bytes(TlsHellos.body(record));
    int at = indexOf(body, "aaaa".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    body[at] = '/';

    assertThatThrownBy(() -> ClientHello.serverName(Unpooled.wrappedBuffer(body)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("server name: character 0x2f at 0");
  }

  @Test
  void aHelloWithoutExtensionsHasNoServerName() {
    byte[] body = new byte[2 + 32 + 1 + 2 + 2 + 1 + 1];
    body[0] = 3;
    body[1] = 3;
    body[34] = 0; // session id length
    body[36] = 2; // cipher suites length
    body[37] = 0x13;
    body[38] = 0x01;
    body[39] = 1; // compression methods length
    body[40] = 0;
    assertThat(ClientHello.serverName(Unpooled.wrappedBuffer(body))).isEmpty();
  }

  private static byte[] bytes(ByteBuf buf) {
    byte[] bytes = new byte[buf.readableBytes()];
    buf.getBytes(buf.readerIndex(), bytes);
    return bytes;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
