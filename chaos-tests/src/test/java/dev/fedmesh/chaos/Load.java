package dev.fedmesh.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Open-loop load from a lab cluster's load generator, through its sidecar, to a demo service; every
 * request's send time, completion time and outcome (which cluster answered) is kept, so a test can
 * ask what happened around the moment it injected a fault.
 */
final class Load implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request: when it left, when it ended, who answered (empty when it failed) and why. */
  record Result(long sentNanos, long doneNanos, Optional<String> cluster, String error) {
    boolean ok() {
      return cluster.isPresent();
    }
  }

  private final HttpClient client;
  private final URI target;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<Result> results = new CopyOnWriteArrayList<>();
  private final List<CompletableFuture<?>> inFlight = new CopyOnWriteArrayList<>();

  Load(InetSocketAddress sidecar, String service, int rps) {
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(sidecar))
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    target = URI.create("http://" + service + ".shop.svc.cluster.local:8080/");
    long period = 1_000_000_000L / rps;
    scheduler.scheduleAtFixedRate(this::send, 0, period, TimeUnit.NANOSECONDS);
  }

  private void send() {
    long sent = System.nanoTime();
    CompletableFuture<?> request =
        client
            .sendAsync(
                HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString())
            .handle(
                (response, error) -> {
                  long done = System.nanoTime();
                  if (error != null) {
                    results.add(new Result(sent, done, Optional.empty(), error.toString()));
                  } else if (response.statusCode() != 200) {
                    results.add(
                        new Result(
                            sent,
                            done,
                            Optional.empty(),
                            response.statusCode() + " " + response.body().trim()));
                  } else {
                    try {
                      JsonNode body = JSON.readTree(response.body());
                      results.add(
                          new Result(sent, done, Optional.of(body.path("cluster").asText()), ""));
                    } catch (Exception e) {
                      results.add(new Result(sent, done, Optional.empty(), e.toString()));
                    }
                  }
                  return null;
                });
    inFlight.add(request);
    inFlight.removeIf(CompletableFuture::isDone);
  }

  /** Stops sending and waits for the requests still in flight. */
  List<Result> stop() throws InterruptedException {
    scheduler.shutdownNow();
    scheduler.awaitTermination(5, TimeUnit.SECONDS);
    for (CompletableFuture<?> request : List.copyOf(inFlight)) {
      try {
        request.get(15, TimeUnit.SECONDS);
      } catch (Exception e) {
        // recorded by the handler
      }
    }
    List<Result> all = new ArrayList<>(results);
    all.sort(Comparator.comparingLong(Result::sentNanos));
    return all;
  }

  /** Answers so far, in no particular order. */
  List<Result> soFar() {
    return List.copyOf(results);
  }

  /** Whether the last {@code n} answers all came from {@code cluster}. */
  boolean lastAnsweredBy(int n, String cluster) {
    List<Result> all = new ArrayList<>(results);
    all.sort(Comparator.comparingLong(Result::doneNanos));
    if (all.size() < n) {
      return false;
    }
    return all.subList(all.size() - n, all.size()).stream()
        .allMatch(r -> r.cluster().filter(cluster::equals).isPresent());
  }

  /** Whether the last {@code n} answers came from {@code cluster}, each within {@code max}. */
  boolean steady(int n, String cluster, Duration max) {
    List<Result> all = new ArrayList<>(results);
    all.sort(Comparator.comparingLong(Result::doneNanos));
    if (all.size() < n) {
      return false;
    }
    return all.subList(all.size() - n, all.size()).stream()
        .allMatch(
            r ->
                r.cluster().filter(cluster::equals).isPresent()
                    && r.doneNanos() - r.sentNanos() <= max.toNanos());
  }

  static long failed(List<Result> results) {
    return results.stream().filter(r -> !r.ok()).count();
  }

  /** Requests that failed and ended at or after {@code fromNanos}. */
  static long failedSince(List<Result> results, long fromNanos) {
    return results.stream().filter(r -> !r.ok() && r.doneNanos() >= fromNanos).count();
  }

  /** Requests that ended at or after {@code fromNanos}. */
  static long endedSince(List<Result> results, long fromNanos) {
    return results.stream().filter(r -> r.doneNanos() >= fromNanos).count();
  }

  static String firstError(List<Result> results) {
    return results.stream().filter(r -> !r.ok()).map(Result::error).findFirst().orElse("");
  }

  /**
   * How long the fault disturbed traffic, in milliseconds from {@code faultNanos}: until the last
   * request that ended after the fault and was slower than the p99 before it (or failed) ended.
   * Zero when nothing was disturbed.
   */
  static long disturbanceMillis(List<Result> results, long faultNanos) {
    long[] before =
        results.stream()
            .filter(r -> r.doneNanos() < faultNanos && r.ok())
            .mapToLong(r -> r.doneNanos() - r.sentNanos())
            .sorted()
            .toArray();
    long p99 =
        before.length == 0
            ? 0
            : before[(int) Math.min(before.length - 1, Math.ceil(before.length * 0.99) - 1)];
    long end = faultNanos;
    for (Result result : results) {
      if (result.doneNanos() >= faultNanos
          && (!result.ok() || result.doneNanos() - result.sentNanos() > p99)) {
        end = Math.max(end, result.doneNanos());
      }
    }
    return (end - faultNanos) / 1_000_000;
  }

  /** The first answer from {@code cluster} after {@code faultNanos}, in milliseconds after it. */
  static long firstAnswerMillis(List<Result> results, long faultNanos, String cluster) {
    return results.stream()
        .filter(r -> r.doneNanos() >= faultNanos && r.cluster().filter(cluster::equals).isPresent())
        .mapToLong(r -> (r.doneNanos() - faultNanos) / 1_000_000)
        .min()
        .orElse(-1);
  }

  /** The slowest answer to a request sent at or after {@code fromNanos}, in milliseconds. */
  static long maxLatencyMillis(List<Result> results, long fromNanos) {
    return results.stream()
        .filter(r -> r.sentNanos() >= fromNanos)
        .mapToLong(r -> (r.doneNanos() - r.sentNanos()) / 1_000_000)
        .max()
        .orElse(0);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
