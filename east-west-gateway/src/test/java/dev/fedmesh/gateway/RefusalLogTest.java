package dev.fedmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RefusalLogTest {
  private final AtomicLong now = new AtomicLong();
  private final RefusalLog log = new RefusalLog(Duration.ofSeconds(10), now::get);
  private final InetSocketAddress client = new InetSocketAddress("127.0.0.1", 40000);

  @Test
  void oneLinePerReasonPerIntervalSayingHowManyWereSuppressed() {
    assertThat(log.refused(RefusalReason.UNKNOWN_SNI, client, "a")).isNotNull();
    for (int i = 0; i < 1000; i++) {
      assertThat(log.refused(RefusalReason.UNKNOWN_SNI, client, "flood")).isNull();
    }
    assertThat(log.refused(RefusalReason.NOT_TLS, client, "other reason"))
        .as("each reason has its own window")
        .isNotNull();

    now.addAndGet(Duration.ofSeconds(10).toNanos());

    assertThat(log.refused(RefusalReason.UNKNOWN_SNI, client, "b"))
        .contains("(unknown_sni): b")
        .contains("1000 more refused for this reason");
    assertThat(log.refused(RefusalReason.UNKNOWN_SNI, client, "c")).isNull();
  }
}
