package dev.fedmesh.gateway;

import static dev.fedmesh.gateway.GatewayConfigs.PAYMENTS;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The ClientHello inspector on an embedded channel: what it decides, and what it passes on. */
class SniInspectorTest {
  private static final SniRoutes ROUTES =
      SniRoutes.of(GatewayConfigs.of(PAYMENTS, new InetSocketAddress("10.1.0.5", 8080)));

  /** Records decisions; a forwarded connection has the inspector removed, as the gateway does. */
  private final List<String> decisions = new ArrayList<>();

  private final SniInspector.Decisions recorder =
      new SniInspector.Decisions() {
        @Override
        public void refuse(ChannelHandlerContext ctx, RefusalReason reason, String detail) {
          decisions.add("refuse " + reason);
          ctx.close();
        }

        @Override
        public void forward(
            ChannelHandlerContext ctx, SniInspector inspector, SniRoutes.Route route) {
          decisions.add("forward " + route.cluster());
          ctx.pipeline().remove(inspector);
        }
      };

  private final EmbeddedChannel channel =
      new EmbeddedChannel(
          new SniInspector(64 * 1024, Duration.ofSeconds(10), () -> ROUTES, recorder));

  @AfterEach
  void close() {
    channel.finishAndReleaseAll();
  }

  /** Everything the inspector passed on, as one byte array. */
  private byte[] passedOn() {
    ByteBuf all = Unpooled.buffer();
    for (Object msg; (msg = channel.readInbound()) != null; ) {
      all.writeBytes((ByteBuf) msg);
      ((ByteBuf) msg).release();
    }
    byte[] bytes = ByteBufUtil.getBytes(all);
    all.release();
    return bytes;
  }

  @Test
  void aHelloForAnExportedServiceIsForwardedByteForByte() {
    byte[] hello = TlsHellos.record(PAYMENTS);

    channel.writeInbound(Unpooled.wrappedBuffer(hello));

    assertThat(decisions).containsExactly("forward " + PAYMENTS);
    assertThat(passedOn()).isEqualTo(hello);
  }

  @Test
  void aHelloArrivingAByteAtATimeIsForwardedWhole() {
    byte[] hello = TlsHellos.record(PAYMENTS);

    for (int i = 0; i < hello.length; i++) {
      assertThat(decisions).isEmpty();
      channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {hello[i]}));
    }

    assertThat(decisions).containsExactly("forward " + PAYMENTS);
    assertThat(passedOn()).isEqualTo(hello);
  }

  @Test
  void aHelloSplitAcrossTwoRecordsIsReadAndForwardedAsSent() {
    byte[] split = TlsHellos.inTwoRecords(TlsHellos.record(PAYMENTS), 40);

    channel.writeInbound(Unpooled.wrappedBuffer(split));

    assertThat(decisions).containsExactly("forward " + PAYMENTS);
    assertThat(passedOn()).isEqualTo(split);
  }

  @Test
  void bytesAfterTheDecisionWaitBehindTheHello() {
    byte[] hello = TlsHellos.record(PAYMENTS);
    EmbeddedChannel slow =
        new EmbeddedChannel(
            new SniInspector(
                64 * 1024,
                Duration.ofSeconds(10),
                () -> ROUTES,
                new SniInspector.Decisions() {
                  @Override
                  public void refuse(ChannelHandlerContext ctx, RefusalReason r, String d) {}

                  @Override
                  public void forward(
                      ChannelHandlerContext ctx, SniInspector inspector, SniRoutes.Route route) {
                    decisions.add("forward, connecting");
                  }
                }));
    try {
      byte[] more = "early data".getBytes(StandardCharsets.US_ASCII);
      slow.writeInbound(Unpooled.wrappedBuffer(hello));
      slow.writeInbound(Unpooled.wrappedBuffer(more));
      assertThat(decisions).containsExactly("forward, connecting");
      assertThat((Object) slow.readInbound()).as("nothing passes before the splice").isNull();

      slow.pipeline().remove(SniInspector.class);

      ByteBuf passed = slow.readInbound();
      byte[] expected = new byte[hello.length + more.length];
      System.arraycopy(hello, 0, expected, 0, hello.length);
      System.arraycopy(more, 0, expected, hello.length, more.length);
      assertThat(ByteBufUtil.getBytes(passed)).isEqualTo(expected);
      passed.release();
    } finally {
      slow.finishAndReleaseAll();
    }
  }

  @Test
  void anUnknownServerNameIsRefused() {
    channel.writeInbound(Unpooled.wrappedBuffer(TlsHellos.record(GatewayConfigs.CART)));

    assertThat(decisions).containsExactly("refuse UNKNOWN_SNI");
    assertThat(channel.isOpen()).isFalse();
    assertThat(passedOn()).isEmpty();
  }

  @Test
  void aHelloWithoutServerNameIsRefused() {
    channel.writeInbound(Unpooled.wrappedBuffer(TlsHellos.record(null)));

    assertThat(decisions).containsExactly("refuse NO_SNI");
    assertThat(passedOn()).isEmpty();
  }

  @Test
  void plaintextIsRefused() {
    channel.writeInbound(
        Unpooled.wrappedBuffer(
            "GET / HTTP/1.1\r\nHost: payments\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));

    assertThat(decisions).containsExactly("refuse NOT_TLS");
    assertThat(channel.isOpen()).isFalse();
    assertThat(passedOn()).isEmpty();
  }

  @Test
  void anOversizedHelloIsRefusedBeforeItIsBuffered() {
    try {
      channel.writeInbound(Unpooled.wrappedBuffer(TlsHellos.claimingLength(1 << 20)));
    } catch (Exception expectedByEmbeddedChannel) {
      // EmbeddedChannel rethrows what the pipeline reported
    }

    assertThat(decisions).containsExactly("refuse HELLO_TOO_LARGE");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void aHelloThatNeverCompletesTimesOut() {
    byte[] hello = TlsHellos.record(PAYMENTS);
    channel.writeInbound(Unpooled.wrappedBuffer(hello, 0, hello.length / 2));

    channel.advanceTimeBy(9, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(decisions).isEmpty();

    channel.advanceTimeBy(2, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(decisions).containsExactly("refuse HELLO_TIMEOUT");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void aClientThatLeavesMidHelloIsCountedOnce() {
    byte[] hello = TlsHellos.record(PAYMENTS);
    channel.writeInbound(Unpooled.wrappedBuffer(hello, 0, 10));

    channel.close();
    channel.advanceTimeBy(20, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();

    assertThat(decisions).containsExactly("refuse CLOSED_BEFORE_HELLO");
  }
}
