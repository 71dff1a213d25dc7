package dev.fedmesh.controller.traffic;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Scrapes fake sidecars on loopback: real HTTP, a clock the test moves. */
class TrafficScraperTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong nanos = new AtomicLong();
  private final AtomicReference<String> eastMetrics = new AtomicReference<>("");
  private HttpServer east;
  private TrafficScraper scraper;

  @AfterEach
  void stop() {
    if (scraper != null) {
      scraper.close();
    }
    if (east != null) {
      east.stop(0);
    }
  }

  private static String sample(String reporter, String destinationCluster, String code, long n) {
    return "istio_requests_total{reporter=\""
        + reporter
        + "\",source_workload=\"loadgen-v1\",source_workload_namespace=\"shop\","
        + "source_cluster=\"east\",destination_workload=\"payments-v1\","
        + "destination_workload_namespace=\"shop\",destination_cluster=\""
        + destinationCluster
        + "\",destination_service=\"payments.shop.svc.cluster.local\",response_code=\""
        + code
        + "\"} "
        + n
        + "\n";
  }

  private void serveEast() throws IOException {
    east = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    east.createContext(
        "/stats/prometheus",
        exchange -> {
          byte[] body = eastMetrics.get().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    east.start();
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  @Test
  void turnsTheClientSideCountersOfEverySidecarIntoRatesPerEdgeAndPerClusterPair()
      throws Exception {
    serveEast();
    int dead = closedPort();
    List<TrafficScraper.Target> targets =
        List.of(
            new TrafficScraper.Target(
                "loadgen.east",
                "east",
                URI.create(
                    "http://127.0.0.1:" + east.getAddress().getPort() + "/stats/prometheus")),
            new TrafficScraper.Target(
                "payments.west",
                "west",
                URI.create("http://127.0.0.1:" + dead + "/stats/prometheus")));
    scraper =
        new TrafficScraper(
            () -> targets,
            TrafficScraper.Settings.DEFAULT,
            HttpClient.newHttpClient(),
            Clock.fixed(Instant.parse("2026-12-04T10:00:00Z"), ZoneOffset.UTC),
            nanos::get);

    eastMetrics.set(
        sample("source", "west", "200", 100)
            + sample("source", "west", "503", 0)
            + sample("destination", "east", "200", 999));
    TrafficScraper.Traffic first = scraper.scrapeOnce();
    assertThat(first.edges()).as("one scrape gives no rate yet").isEmpty();
    assertThat(first.targets()).isEqualTo(2);
    assertThat(first.unreachable())
        .containsOnlyKeys("payments.west")
        .hasEntrySatisfying("payments.west", why -> assertThat(why).contains("connection refused"));

    nanos.addAndGet(2 * SECOND);
    eastMetrics.set(
        sample("source", "west", "200", 136)
            + sample("source", "west", "503", 4)
            + sample("destination", "east", "200", 5000));
    TrafficScraper.Traffic second = scraper.scrapeOnce();

    // 40 requests in 2 s, 4 of them 503s; the server-side samples are not counted twice.
    assertThat(second.edges())
        .singleElement()
        .satisfies(
            edge -> {
              assertThat(edge.source())
                  .isEqualTo(new TrafficScraper.Peer("loadgen-v1", "shop", "east"));
              assertThat(edge.destination())
                  .isEqualTo(new TrafficScraper.Peer("payments-v1", "shop", "west"));
              assertThat(edge.service()).isEqualTo("payments.shop.svc.cluster.local");
              assertThat(edge.crossCluster()).isTrue();
              assertThat(edge.requestsPerSecond()).isEqualTo(20.0);
              assertThat(edge.errorsPerSecond()).isEqualTo(2.0);
            });
    assertThat(second.clusters())
        .containsExactly(new TrafficScraper.ClusterEdge("east", "west", 20.0, 2.0));
    assertThat(second.scrapedAt()).isEqualTo(Instant.parse("2026-12-04T10:00:00Z"));
  }

  @Test
  void stopsAtTheTargetLimitAndSaysHowManyItSkipped() throws Exception {
    serveEast();
    URI uri = URI.create("http://127.0.0.1:" + east.getAddress().getPort() + "/stats/prometheus");
    List<TrafficScraper.Target> targets =
        List.of(
            new TrafficScraper.Target("a", "east", uri),
            new TrafficScraper.Target("b", "east", uri),
            new TrafficScraper.Target("c", "east", uri));
    scraper =
        new TrafficScraper(
            () -> targets,
            new TrafficScraper.Settings(
                Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofMinutes(1), 2),
            HttpClient.newHttpClient(),
            Clock.systemUTC(),
            nanos::get);

    TrafficScraper.Traffic traffic = scraper.scrapeOnce();

    assertThat(traffic.targets()).isEqualTo(2);
    assertThat(traffic.skipped()).isEqualTo(1);
  }

  @Test
  void aNonNumericResponseCodeOrAbsentResponseIsJudgedAsIstioDoes() {
    assertThat(TrafficScraper.failed("200")).isFalse();
    assertThat(TrafficScraper.failed("404")).isFalse();
    assertThat(TrafficScraper.failed("503")).isTrue();
    assertThat(TrafficScraper.failed("0")).as("no response at all").isTrue();
    assertThat(TrafficScraper.failed("")).isFalse();
  }

  @Test
  void refusesSettingsThatCannotGiveARate() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                new TrafficScraper.Settings(
                    Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofMinutes(1), 10))
        .hasMessage("window: PT1S (expected: at least two intervals, PT2S)");
  }
}
