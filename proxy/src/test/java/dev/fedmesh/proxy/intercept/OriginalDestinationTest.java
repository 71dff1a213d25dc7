package dev.fedmesh.proxy.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The kernel's answer to SO_ORIGINAL_DST, read as a user-visible address. */
class OriginalDestinationTest {
  @Test
  void readsAnIpv4SockaddrWithThePortInNetworkOrder() {
    ByteBuffer sockaddr = ByteBuffer.allocate(16);
    sockaddr.order(ByteOrder.nativeOrder()).putShort((short) 2);
    sockaddr.order(ByteOrder.BIG_ENDIAN).putShort((short) 8080);
    sockaddr.put(new byte[] {(byte) 198, 18, 0, 2});
    sockaddr.flip();

    assertThat(OriginalDestination.parse(sockaddr))
        .contains(new InetSocketAddress("198.18.0.2", 8080));
  }

  @Test
  void readsAnIpv6Sockaddr() {
    ByteBuffer sockaddr = ByteBuffer.allocate(28);
    sockaddr.order(ByteOrder.nativeOrder()).putShort((short) 10);
    sockaddr.order(ByteOrder.BIG_ENDIAN).putShort((short) 443).putInt(0);
    byte[] address = new byte[16];
    address[0] = (byte) 0xfd;
    address[15] = 7;
    sockaddr.put(address).putInt(0);
    sockaddr.flip();

    assertThat(OriginalDestination.parse(sockaddr)).contains(new InetSocketAddress("fd00::7", 443));
  }

  @Test
  void anUnknownFamilyIsNoAddress() {
    assertThat(OriginalDestination.parse(ByteBuffer.allocate(16))).isEmpty();
  }
}
