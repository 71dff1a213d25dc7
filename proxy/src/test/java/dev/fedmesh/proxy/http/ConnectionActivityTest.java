package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The idle timeout of a downstream connection, on the event loop's own (frozen) clock. */
class ConnectionActivityTest {
  private static final Duration IDLE = Duration.ofSeconds(10);

  private static EmbeddedChannel channel(ServerPipelines.Activity activity) {
    EmbeddedChannel channel = new EmbeddedChannel();
    channel.freezeTime();
    channel.pipeline().addLast(activity);
    return channel;
  }

  private static void advance(EmbeddedChannel channel, long seconds) {
    channel.advanceTimeBy(seconds, TimeUnit.SECONDS);
    channel.runPendingTasks();
  }

  @Test
  void aConnectionThatNeitherReadsNorWritesIsClosedAfterTheIdleTimeout() {
    EmbeddedChannel channel = channel(new ServerPipelines.Activity(IDLE));

    advance(channel, 9);
    assertThat(channel.isOpen()).as("open before the timeout").isTrue();
    advance(channel, 1);
    assertThat(channel.isOpen()).as("closed once 10 s passed without activity").isFalse();
  }

  @Test
  void readingOrFlushingStartsTheIdleTimeoutAgain() {
    EmbeddedChannel channel = channel(new ServerPipelines.Activity(IDLE));

    advance(channel, 8);
    channel.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\n", StandardCharsets.US_ASCII));
    advance(channel, 8); // 16 s in, 8 s since the read
    assertThat(channel.isOpen()).isTrue();
    channel.writeAndFlush(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n", StandardCharsets.US_ASCII));
    advance(channel, 9); // 25 s in, 9 s since the flush
    assertThat(channel.isOpen()).as("a flush is activity").isTrue();
    advance(channel, 1);
    assertThat(channel.isOpen()).as("10 s after the flush").isFalse();
    channel.finishAndReleaseAll();
  }

  @Test
  void countsTheBytesReceived() {
    ServerPipelines.Activity activity = new ServerPipelines.Activity(IDLE);
    EmbeddedChannel channel = channel(activity);

    channel.writeInbound(Unpooled.copiedBuffer("GET / HT", StandardCharsets.US_ASCII));
    channel.writeInbound(Unpooled.copiedBuffer("TP/1.1\r\n", StandardCharsets.US_ASCII));

    assertThat(activity.bytesRead()).isEqualTo(16);
    channel.finishAndReleaseAll();
  }

  @Test
  void aRemovedHandlerClosesNothing() {
    ServerPipelines.Activity activity = new ServerPipelines.Activity(IDLE);
    EmbeddedChannel channel = channel(activity);

    channel.pipeline().remove(activity); // a CONNECT tunnel takes the connection over
    advance(channel, 60);

    assertThat(channel.isOpen()).isTrue();
    channel.finishAndReleaseAll();
  }

  @Test
  void refusesATimeoutThatIsNotPositive() {
    assertThatThrownBy(() -> new ServerPipelines.Activity(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected: positive");
  }
}
