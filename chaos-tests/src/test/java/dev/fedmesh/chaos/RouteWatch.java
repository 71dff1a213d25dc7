package dev.fedmesh.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches every sidecar of the given clusters while a fault runs and records each moment one of
 * them could not reach one of {@code hosts} (its accepted config had no route to a cluster with
 * endpoints for it). A control plane that serves a partial config shows up here even when no
 * request happened to hit the gap.
 */
final class RouteWatch implements AutoCloseable {
  private final ChaosLab lab;
  private final List<String> clusters;
  private final Set<String> hosts;
  private final List<String> losses = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();
  private volatile int polls;

  RouteWatch(ChaosLab lab, List<String> clusters, Set<String> hosts) {
    this.lab = lab;
    this.clusters = List.copyOf(clusters);
    this.hosts = Set.copyOf(hosts);
    poller.scheduleWithFixedDelay(this::poll, 0, 100, TimeUnit.MILLISECONDS);
  }

  private void poll() {
    for (String cluster : clusters) {
      JsonNode status;
      try {
        status = lab.clusterStatus(cluster);
      } catch (Exception e) {
        continue; // being rewritten; the next poll reads it
      }
      for (JsonNode proxy : status.path("proxies")) {
        Set<String> reachable = new HashSet<>();
        proxy
            .path("reachableHosts")
            .forEach(host -> reachable.add(host.asText().replaceFirst(":\\d+$", "")));
        Set<String> missing = new TreeSet<>(hosts);
        missing.removeAll(reachable);
        if (!missing.isEmpty()) {
          losses.add(cluster + "/" + proxy.path("workload").asText() + " lost " + missing);
        }
      }
    }
    polls++;
  }

  /** Every observed loss, oldest first; stops watching. */
  List<String> stop() throws InterruptedException {
    poller.shutdownNow();
    poller.awaitTermination(5, TimeUnit.SECONDS);
    return List.copyOf(losses);
  }

  int polls() {
    return polls;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
