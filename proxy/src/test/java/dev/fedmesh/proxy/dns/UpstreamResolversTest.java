package dev.fedmesh.proxy.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How forwarded queries are spread over the resolvers and the resolver timeout. */
class UpstreamResolversTest {
  @TempDir Path dir;

  private static DnsListenerConfig config(
      Duration timeout, int retries, InetSocketAddress... resolvers) {
    return new DnsListenerConfig(
        new InetSocketAddress("127.0.0.1", 15053),
        DnsTable.EMPTY,
        timeout,
        List.of(resolvers),
        false,
        256,
        retries);
  }

  @Test
  void theControllersResolversShareTheTimeoutOverOnePlusTheRetryCountRounds() {
    InetSocketAddress a = new InetSocketAddress("10.0.0.1", 53);
    InetSocketAddress b = new InetSocketAddress("10.0.0.2", 5353);

    UpstreamResolvers plan =
        UpstreamResolvers.of(config(Duration.ofSeconds(6), 2, a, b), dir.resolve("absent"));

    assertThat(plan.source()).isEqualTo("xds");
    assertThat(plan.rounds()).isEqualTo(3);
    assertThat(plan.udpTries()).isEqualTo(6);
    assertThat(plan.udpTryTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(plan.tcpTryTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(List.of(plan.resolver(0), plan.resolver(1), plan.resolver(2)))
        .containsExactly(a, b, a);
  }

  @Test
  void resolvConfsNameserversAttemptsAndTimeoutApplyWhenTheControllerNamesNone() throws Exception {
    Path file = dir.resolve("resolv.conf");
    Files.writeString(file, "nameserver 10.96.0.10\noptions timeout:1 attempts:3\n");

    UpstreamResolvers plan = UpstreamResolvers.of(config(Duration.ofSeconds(6), 0), file);

    assertThat(plan.resolvers()).containsExactly(new InetSocketAddress("10.96.0.10", 53));
    assertThat(plan.rounds()).isEqualTo(3);
    // A third of 6 s would be 2 s; resolv.conf says a try waits 1 s.
    assertThat(plan.udpTryTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(plan.source()).isEqualTo(file.toString());
  }

  @Test
  void anUnreadableOrEmptyResolvConfLeavesNoResolversAndSaysWhy() throws Exception {
    Path empty = dir.resolve("empty.conf");
    Files.writeString(empty, "search example.org\n");

    assertThat(
            UpstreamResolvers.of(config(Duration.ofSeconds(5), 0), dir.resolve("absent")).problem())
        .startsWith("cannot read");
    assertThat(UpstreamResolvers.of(config(Duration.ofSeconds(5), 0), empty).problem())
        .isEqualTo("no nameserver lines");
  }
}
