package dev.fedmesh.controller.traffic;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The traffic view's source: scrapes every connected sidecar's Istio standard metrics ({@code
 * istio_requests_total}, the client side's report: {@code reporter="source"}) and turns them into
 * request and error rates between workloads and between clusters.
 *
 * <p>It scrapes only while someone looks: each read of {@link #current()} keeps it going for {@link
 * Settings#idle()}, after which it stops and forgets what it had. Each round asks all targets at
 * once, each with a deadline of one interval, so one proxy that hangs delays nothing.
 */
public final class TrafficScraper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TrafficScraper.class);
  static final String METRIC = "istio_requests_total";

  /**
   * @param interval how often proxies are scraped (and the deadline of each scrape)
   * @param window the span rates are computed over
   * @param idle how long scraping goes on after the view was last read
   * @param maxTargets at most this many proxies are scraped a round
   */
  public record Settings(Duration interval, Duration window, Duration idle, int maxTargets) {
    public static final Settings DEFAULT =
        new Settings(Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofMinutes(1), 2000);

    public Settings {
      if (interval.toMillis() < 100) {
        throw new IllegalArgumentException("interval: " + interval + " (expected: at least 100ms)");
      }
      if (window.compareTo(interval.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException(
            "window: "
                + window
                + " (expected: at least two intervals, "
                + interval.multipliedBy(2)
                + ")");
      }
      if (maxTargets < 1) {
        throw new IllegalArgumentException("maxTargets: " + maxTargets + " (expected: at least 1)");
      }
    }
  }

  /** A proxy to scrape: its node id, cluster and metrics URL. */
  public record Target(String proxy, String cluster, URI uri) {}

  /** One end of an edge: a workload in a namespace and cluster (Istio's telemetry labels). */
  public record Peer(String workload, String namespace, String cluster) {}

  /**
   * Requests from one workload to another through one service, per second over the window.
   *
   * @param crossCluster the two ends are in different clusters: the call went through the
   *     destination cluster's east-west gateway
   */
  public record Edge(
      Peer source,
      Peer destination,
      String service,
      boolean crossCluster,
      double requestsPerSecond,
      double errorsPerSecond) {}

  /** Requests from one cluster's workloads to another's (or the same), per second. */
  public record ClusterEdge(
      String source, String destination, double requestsPerSecond, double errorsPerSecond) {}

  /**
   * What the view shows.
   *
   * @param scrapedAt when the last round ended (null before the first)
   * @param targets how many proxies the last round asked
   * @param skipped how many connected proxies were not asked (past {@link Settings#maxTargets()})
   * @param unreachable the proxies that did not answer the last round, with why
   */
  public record Traffic(
      Instant scrapedAt,
      Duration window,
      int targets,
      int skipped,
      Map<String, String> unreachable,
      List<Edge> edges,
      List<ClusterEdge> clusters) {}

  private record EdgeKey(Peer source, Peer destination, String service) {}

  private final Supplier<List<Target>> targets;
  private final Settings settings;
  private final HttpClient http;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final ScheduledExecutorService executor;
  private final RateWindow<EdgeKey> window;
  private volatile long lastDemandNanos = Long.MIN_VALUE;
  private volatile Traffic current;

  public TrafficScraper(Supplier<List<Target>> targets, Settings settings) {
    this(
        targets,
        settings,
        HttpClient.newBuilder().connectTimeout(settings.interval()).build(),
        Clock.systemUTC(),
        System::nanoTime);
  }

  TrafficScraper(
      Supplier<List<Target>> targets,
      Settings settings,
      HttpClient http,
      Clock clock,
      LongSupplier nanoTime) {
    this.targets = requireNonNull(targets, "targets");
    this.settings = requireNonNull(settings, "settings");
    this.http = requireNonNull(http, "http");
    this.clock = requireNonNull(clock, "clock");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.window = new RateWindow<>(settings.window());
    this.current = empty();
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            dev.fedmesh.model.DaemonThreads.named("traffic-scraper"));
    long period = settings.interval().toMillis();
    executor.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
  }

  /** The traffic seen lately; keeps the scraper running for a while. */
  public Traffic current() {
    boolean wasIdle = idle();
    lastDemandNanos = nanoTime.getAsLong();
    if (wasIdle) {
      executor.execute(this::tick); // start now rather than an interval from now
    }
    return current;
  }

  private boolean idle() {
    long last = lastDemandNanos;
    return last == Long.MIN_VALUE || nanoTime.getAsLong() - last > settings.idle().toNanos();
  }

  private void tick() {
    if (idle()) {
      if (current.scrapedAt() != null) {
        window.clear();
        current = empty();
      }
      return;
    }
    try {
      current = scrapeOnce();
    } catch (RuntimeException e) {
      log.warn("traffic scrape failed: {}", e.toString());
    }
  }

  /** One round: asks every target, then recomputes rates. Runs on the scraper's thread. */
  Traffic scrapeOnce() {
    List<Target> all = targets.get();
    List<Target> asked =
        all.size() > settings.maxTargets() ? all.subList(0, settings.maxTargets()) : all;
    Map<String, CompletableFuture<HttpResponse<String>>> pending = new HashMap<>();
    for (Target target : asked) {
      HttpRequest request =
          HttpRequest.newBuilder(target.uri()).timeout(settings.interval()).GET().build();
      pending.put(target.proxy(), http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    Map<String, String> unreachable = new TreeMap<>();
    for (Target target : asked) {
      try {
        HttpResponse<String> response = pending.get(target.proxy()).join();
        long at = nanoTime.getAsLong();
        if (response.statusCode() != 200) {
          unreachable.put(
              target.proxy(), "HTTP " + response.statusCode() + " from " + target.uri());
          continue;
        }
        PrometheusText.Parsed parsed = PrometheusText.samples(response.body(), METRIC);
        if (!parsed.errors().isEmpty()) {
          unreachable.put(target.proxy(), target.uri() + ": " + parsed.errors().get(0));
        }
        window.add(target.proxy(), at, counters(parsed.samples()));
      } catch (java.util.concurrent.CompletionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        unreachable.put(target.proxy(), target.uri() + ": " + describe(cause));
      }
    }
    return traffic(asked.size(), all.size() - asked.size(), unreachable);
  }

  private static String describe(Throwable error) {
    if (error instanceof java.net.http.HttpTimeoutException) {
      return "no answer in time";
    }
    if (error instanceof java.net.ConnectException) {
      return "connection refused";
    }
    return error.getClass().getSimpleName()
        + (error.getMessage() == null ? "" : ": " + error.getMessage());
  }

  /** Sums the client-side samples of one proxy by edge (the response code is summed away). */
  static Map<EdgeKey, RateWindow.Counts> counters(List<PrometheusText.Sample> samples) {
    Map<EdgeKey, RateWindow.Counts> counters = new HashMap<>();
    for (PrometheusText.Sample sample : samples) {
      if (!sample.label("reporter").equals("source")) {
        continue; // the server side reports the same request again
      }
      EdgeKey key =
          new EdgeKey(
              new Peer(
                  sample.label("source_workload"),
                  sample.label("source_workload_namespace"),
                  sample.label("source_cluster")),
              new Peer(
                  sample.label("destination_workload"),
                  sample.label("destination_workload_namespace"),
                  sample.label("destination_cluster")),
              sample.label("destination_service"));
      double errors = failed(sample.label("response_code")) ? sample.value() : 0;
      counters.merge(key, new RateWindow.Counts(sample.value(), errors), RateWindow.Counts::plus);
    }
    return counters;
  }

  /** Istio's dashboards' rule: a 5xx, or no response at all (code 0), is an error. */
  static boolean failed(String responseCode) {
    if (responseCode.equals("0")) {
      return true;
    }
    return responseCode.startsWith("5") && responseCode.length() == 3;
  }

  private Traffic traffic(int asked, int skipped, Map<String, String> unreachable) {
    Map<EdgeKey, RateWindow.Counts> rates = window.rates(nanoTime.getAsLong());
    List<Edge> edges = new ArrayList<>();
    Map<List<String>, RateWindow.Counts> byCluster =
        new TreeMap<>(Comparator.comparing(Object::toString));
    rates.forEach(
        (key, rate) -> {
          String from = key.source().cluster();
          String to = key.destination().cluster();
          boolean known = !to.isEmpty() && !to.equals("unknown");
          edges.add(
              new Edge(
                  key.source(),
                  key.destination(),
                  key.service(),
                  known && !from.equals(to),
                  round(rate.requests()),
                  round(rate.errors())));
          byCluster.merge(List.of(from, known ? to : "unknown"), rate, RateWindow.Counts::plus);
        });
    edges.sort(
        Comparator.comparing((Edge e) -> e.source().toString())
            .thenComparing(e -> e.destination().toString())
            .thenComparing(Edge::service));
    List<ClusterEdge> clusters = new ArrayList<>();
    byCluster.forEach(
        (ends, rate) ->
            clusters.add(
                new ClusterEdge(
                    ends.get(0), ends.get(1), round(rate.requests()), round(rate.errors()))));
    return new Traffic(
        clock.instant(), settings.window(), asked, skipped, unreachable, edges, clusters);
  }

  private static double round(double perSecond) {
    return Math.round(perSecond * 100) / 100.0;
  }

  private Traffic empty() {
    return new Traffic(null, settings.window(), 0, 0, Map.of(), List.of(), List.of());
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
