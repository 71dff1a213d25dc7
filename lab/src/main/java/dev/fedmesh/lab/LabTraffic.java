package dev.fedmesh.lab;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.lab.cluster.ClusterSpec;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code fedmesh lab traffic}: open-loop load from a cluster's load-generator pod through its own
 * sidecar, like any app's requests, to a service of the demo app. Each answer names the cluster and
 * version that served it; a live line each second shows where requests land, and the summary gives
 * the totals and latency percentiles. A request's latency runs from the time the pacer meant to
 * send it, so a stalled path or a late pacer shows in the percentiles instead of slowing the load.
 */
public final class LabTraffic {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The figures of one run. */
  public record Summary(
      long total,
      long failed,
      Map<String, Long> byCluster,
      Map<String, Long> byVersion,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      String firstError) {

    public ObjectNode json() {
      ObjectNode node = JSON.createObjectNode();
      node.put("total", total);
      node.put("failed", failed);
      ObjectNode clusters = node.putObject("by_cluster");
      byCluster.forEach(clusters::put);
      ObjectNode versions = node.putObject("by_version");
      byVersion.forEach(versions::put);
      node.put("p50_ms", Math.round(p50Ms * 100) / 100.0);
      node.put("p90_ms", Math.round(p90Ms * 100) / 100.0);
      node.put("p99_ms", Math.round(p99Ms * 100) / 100.0);
      if (!firstError.isEmpty()) {
        node.put("first_error", firstError);
      }
      return node;
    }
  }

  private final HttpClient client;
  private final URI target;
  private final AtomicLong total = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Map<String, AtomicLong> byCluster = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> byVersion = new ConcurrentHashMap<>();
  private final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
  private volatile String firstError = "";

  /**
   * @param sidecar the load generator's sidecar outbound address
   * @param service the demo service to call (frontend, checkout, payments)
   */
  public LabTraffic(InetSocketAddress sidecar, String service) {
    requireNonNull(sidecar, "sidecar");
    this.client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(sidecar))
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    this.target =
        URI.create(
            "http://"
                + requireNonNull(service, "service")
                + "."
                + ClusterSpec.NAMESPACE
                + ".svc.cluster.local:"
                + ClusterSpec.SERVICE_PORT
                + "/");
  }

  /** The load generator's sidecar of {@code cluster} in the lab in {@code dir}. */
  public static InetSocketAddress loadgenSidecar(java.nio.file.Path labDir, String cluster)
      throws java.io.IOException {
    java.nio.file.Path specFile =
        labDir.toAbsolutePath().resolve("clusters").resolve(cluster).resolve("spec.json");
    if (!java.nio.file.Files.exists(specFile)) {
      throw new LabException(
          "--from: '"
              + cluster
              + "' (expected a cluster of the running lab: east, west or central)");
    }
    ClusterSpec spec = JSON.readValue(specFile.toFile(), ClusterSpec.class);
    String address = spec.loadgenOutbound();
    int colon = address.lastIndexOf(':');
    return new InetSocketAddress(
        address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
  }

  /**
   * Sends {@code rps} requests a second for {@code duration} (open loop: a slow answer does not
   * slow the sending), printing a line a second to {@code live} when it is not null. The summary
   * counts every run of this instance so far: a caller may measure in several slices.
   */
  public Summary run(int rps, Duration duration, PrintStream live) throws InterruptedException {
    if (rps < 1 || rps > 5000) {
      throw new LabException("--rps: " + rps + " (expected: 1 to 5000)");
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    List<CompletableFuture<Void>> inFlight = Collections.synchronizedList(new ArrayList<>());
    long periodNanos = 1_000_000_000L / rps;
    long count = duration.toNanos() / periodNanos;
    AtomicLong sent = new AtomicLong();
    long started = System.nanoTime();
    try {
      scheduler.scheduleAtFixedRate(
          () -> {
            long index = sent.get();
            if (index < count) {
              // A late tick (a GC pause, a busy core) runs at once; its lateness is latency.
              inFlight.add(send(started + index * periodNanos));
              sent.incrementAndGet();
            }
          },
          0,
          periodNanos,
          TimeUnit.NANOSECONDS);
      long lastPrinted = 0;
      while (sent.get() < count) {
        Thread.sleep(50);
        long second = (System.nanoTime() - started) / 1_000_000_000L;
        if (live != null && second > lastPrinted) {
          lastPrinted = second;
          live.println(line(second));
        }
      }
    } finally {
      scheduler.shutdownNow();
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (CompletableFuture<Void> request : List.copyOf(inFlight)) {
      try {
        request.get(15, TimeUnit.SECONDS);
      } catch (Exception e) {
        // counted as failed by send()
      }
    }
    return summary();
  }

  private CompletableFuture<Void> send(long scheduledNanos) {
    total.incrementAndGet();
    return client
        .sendAsync(
            HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString())
        .handle(
            (response, error) -> {
              latencies.add(System.nanoTime() - scheduledNanos);
              if (error != null) {
                fail(error.toString());
                return null;
              }
              if (response.statusCode() != 200) {
                fail(response.statusCode() + " " + response.body().trim());
                return null;
              }
              try {
                JsonNode body = JSON.readTree(response.body());
                byCluster
                    .computeIfAbsent(body.path("cluster").asText("?"), k -> new AtomicLong())
                    .incrementAndGet();
                byVersion
                    .computeIfAbsent(body.path("version").asText("?"), k -> new AtomicLong())
                    .incrementAndGet();
              } catch (Exception e) {
                fail("unreadable answer: " + e.getMessage());
              }
              return null;
            });
  }

  private void fail(String why) {
    failed.incrementAndGet();
    if (firstError.isEmpty()) {
      firstError = why;
    }
  }

  private String line(long second) {
    Summary now = summary();
    return String.format(
        "[%3ds] sent %-6d failed %-4d by cluster %-32s by version %-18s p50 %.1f ms  p99 %.1f ms",
        second,
        now.total(),
        now.failed(),
        now.byCluster(),
        now.byVersion(),
        now.p50Ms(),
        now.p99Ms());
  }

  Summary summary() {
    List<Long> sorted;
    synchronized (latencies) {
      sorted = new ArrayList<>(latencies);
    }
    Collections.sort(sorted);
    return new Summary(
        total.get(),
        failed.get(),
        counts(byCluster),
        counts(byVersion),
        percentile(sorted, 0.50),
        percentile(sorted, 0.90),
        percentile(sorted, 0.99),
        firstError);
  }

  private static Map<String, Long> counts(Map<String, AtomicLong> counters) {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /**
   * The nearest-rank {@code q}-quantile of {@code sorted} nanoseconds, in milliseconds: the
   * smallest sample that at least {@code q} of all samples do not exceed; 0 when there are none.
   */
  static double percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.min(sorted.size() - 1, Math.ceil(q * sorted.size()) - 1);
    return sorted.get(Math.max(0, index)) / 1e6;
  }
}
