package dev.fedmesh.agent.source;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services from an {@link EndpointsFile}, re-read whenever its content changes. An edit that does
 * not parse or validate is reported once and ignored: the last good state stays announced, so a
 * typo never withdraws a cluster's services.
 */
public final class FileEndpointSource implements EndpointSource {
  private static final Logger log = LoggerFactory.getLogger(FileEndpointSource.class);

  private final Path file;
  private final ClusterName cluster;
  private final Locality defaultLocality;
  private final ScheduledExecutorService scheduler;
  private final Duration pollInterval;
  private ScheduledFuture<?> poll;
  private String lastContent;
  private String lastProblem;

  public FileEndpointSource(
      Path file,
      ClusterName cluster,
      Locality defaultLocality,
      ScheduledExecutorService scheduler,
      Duration pollInterval) {
    this.file = requireNonNull(file, "file");
    this.cluster = requireNonNull(cluster, "cluster");
    this.defaultLocality = requireNonNull(defaultLocality, "defaultLocality");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.pollInterval = requireNonNull(pollInterval, "pollInterval");
  }

  @Override
  public void start(Listener listener) {
    poll =
        scheduler.scheduleWithFixedDelay(
            () -> check(listener), 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void check(Listener listener) {
    try {
      read(listener);
    } catch (RuntimeException e) {
      // A scheduled task that throws is never run again: keep watching whatever went wrong.
      report(file + ": " + e);
    }
  }

  private void read(Listener listener) {
    String content;
    try {
      content = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      report(file + ": no such file (keeping the last announced services)");
      return;
    } catch (IOException e) {
      report(file + ": " + e.getMessage());
      return;
    }
    if (content.equals(lastContent)) {
      return;
    }
    lastContent = content;
    Map<ServiceKey, ServiceEndpoints> services;
    try {
      services = EndpointsFile.parse(content, cluster, defaultLocality);
    } catch (InvalidMessageException e) {
      report(file + " refused, keeping the last good state: " + e.getMessage());
      return;
    }
    lastProblem = null;
    log.info("{}: {} services", file, services.size());
    listener.onServices(services);
  }

  private void report(String problem) {
    if (!Objects.equals(problem, lastProblem)) {
      log.warn(problem);
      lastProblem = problem;
    }
  }

  @Override
  public void close() {
    if (poll != null) {
      poll.cancel(false);
    }
  }
}
