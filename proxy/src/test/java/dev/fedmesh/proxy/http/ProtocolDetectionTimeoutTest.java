package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.nio.NioEventLoopGroup;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A connection that never says what it speaks is closed, on every kind of listener. */
class ProtocolDetectionTimeoutTest {
  private static final Duration LIMIT = Duration.ofMillis(300);

  private NioEventLoopGroup group;
  private HttpProxy proxy;
  private ProxyStats stats;

  @BeforeEach
  void start() throws Exception {
    group = new NioEventLoopGroup(1);
    stats = new ProxyStats();
    proxy =
        HttpProxy.builder(group)
            .stats(stats)
            .protocolDetectionTimeout(LIMIT)
            .outbound(new InetSocketAddress("127.0.0.1", 0))
            .inbound(
                new InboundPort(
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 9),
                    InboundPort.AppProtocol.TCP,
                    InboundPort.TlsMode.PERMISSIVE))
            .start();
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @Test
  void aSilentConnectionOnTheOutboundListenerIsClosedWithinTheLimit() throws Exception {
    assertClosedWhileSilent(proxy.outboundAddress().orElseThrow());
  }

  @Test
  void aSilentConnectionOnAnInboundPortIsClosedWithinTheLimit() throws Exception {
    assertClosedWhileSilent(proxy.inboundAddresses().get(0));
  }

  @Test
  void aClientThatSpeaksInTimeIsServed() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(proxy.outboundAddress().orElseThrow(), 2_000);
      socket.setSoTimeout(5_000);
      socket
          .getOutputStream()
          .write(
              "GET http://nowhere.example/ HTTP/1.1\r\nHost: nowhere.example\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      byte[] head = socket.getInputStream().readNBytes(12);
      assertThat(new String(head, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 ");
    }
    assertThat(stats.rejectedCount()).isZero();
  }

  private void assertClosedWhileSilent(InetSocketAddress address) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(address, 2_000);
      socket.setSoTimeout(5_000);
      long start = System.nanoTime();
      InputStream in = socket.getInputStream();
      int read;
      try {
        read = in.read();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the proxy kept a silent connection open for 5 s", e);
      }
      long closedAfterMillis = (System.nanoTime() - start) / 1_000_000;
      assertThat(read).as("end of stream").isEqualTo(-1);
      assertThat(closedAfterMillis).isGreaterThanOrEqualTo(LIMIT.toMillis() - 50);
    }
    assertThat(stats.rejectedCount()).as("refusals counted").isEqualTo(1);
  }
}
