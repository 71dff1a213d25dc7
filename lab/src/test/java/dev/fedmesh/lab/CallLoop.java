package dev.fedmesh.lab;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Calls one URL over and over from a few threads of its own, each pausing a few milliseconds
 * between calls, and keeps every outcome: the load that a failover must not drop.
 */
final class CallLoop implements AutoCloseable {
  /** One call: when it ended, and what came back (status -1 and the error when nothing did). */
  record Outcome(long endNanos, int status, String body, String error) {
    boolean ok() {
      return status == 200;
    }

    @Override
    public String toString() {
      return ok() ? body : status == -1 ? error : status + " " + body;
    }
  }

  private final List<Outcome> outcomes = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;

  private CallLoop(HttpClient client, URI uri, int callers, Duration pause) {
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build();
    for (int i = 0; i < callers; i++) {
      Thread thread =
          new Thread(
              () -> {
                while (running) {
                  outcomes.add(call(client, request));
                  try {
                    TimeUnit.NANOSECONDS.sleep(pause.toNanos()); // pacing, not waiting
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "call-loop-" + i);
      thread.setDaemon(true);
      threads.add(thread);
    }
  }

  /**
   * Starts {@code callers} threads calling {@code uri}, each pausing {@code pause} after a call.
   */
  static CallLoop start(HttpClient client, URI uri, int callers, Duration pause) {
    CallLoop loop = new CallLoop(client, uri, callers, pause);
    loop.threads.forEach(Thread::start);
    return loop;
  }

  private static Outcome call(HttpClient client, HttpRequest request) {
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      return new Outcome(System.nanoTime(), response.statusCode(), response.body(), "");
    } catch (Exception e) {
      return new Outcome(System.nanoTime(), -1, "", e.toString());
    }
  }

  /** Every outcome so far, in order. */
  List<Outcome> outcomes() {
    return List.copyOf(outcomes);
  }

  /** Whether the last {@code count} calls were all answered by {@code body}. */
  boolean lastAnsweredBy(int count, String body) {
    List<Outcome> all = outcomes();
    if (all.size() < count) {
      return false;
    }
    return all.subList(all.size() - count, all.size()).stream()
        .allMatch(o -> o.ok() && o.body().equals(body));
  }

  /** Stops calling and waits for the calls under way. */
  @Override
  public void close() throws InterruptedException {
    running = false;
    for (Thread thread : threads) {
      thread.join(TimeUnit.SECONDS.toMillis(15));
    }
  }
}
