package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.store.StoreCodec.utf8;
import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.model.MeshChange;
import dev.fedmesh.controller.model.MeshModel;
import dev.fedmesh.model.InvalidMessageException;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link MeshModel} in step with etcd: lists everything under {@code /fedmesh/v1/}, then
 * watches from the revision after the listing. When the watch breaks for good (compaction while it
 * was down, or an error jetcd does not retry itself) it lists again after a backoff. The model
 * keeps its last state meanwhile, so proxies keep their config while etcd is away.
 */
public final class MeshWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MeshWatcher.class);
  private static final Duration MIN_BACKOFF = Duration.ofMillis(100);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final Client client;
  private final MeshModel model;
  private final ScheduledExecutorService scheduler;
  private final ByteSequence prefix = utf8(KeyLayout.ROOT);

  private final Object lock = new Object();
  private Watch.Watcher watcher;
  private long lastRevision;
  private Duration backoff = MIN_BACKOFF;
  private volatile boolean synced;
  private volatile boolean closed;
  private volatile long listedRevision = -1;

  public MeshWatcher(Client client, MeshModel model, ScheduledExecutorService scheduler) {
    this.client = requireNonNull(client, "client");
    this.model = requireNonNull(model, "model");
    this.scheduler = requireNonNull(scheduler, "scheduler");
  }

  /** Starts listing and watching; returns at once. */
  public void start() {
    relist();
  }

  /**
   * Whether the model has been handed a listing and the watch since is unbroken. The model may not
   * have published it yet: compare {@link #listedRevision()} with what it published.
   */
  public boolean isSynced() {
    return synced;
  }

  /**
   * The etcd revision of the newest listing handed to the model, or -1 before the first one. A
   * model that published a snapshot at or beyond it serves all that etcd held at that listing.
   */
  public long listedRevision() {
    return listedRevision;
  }

  /** The newest etcd revision the model has seen. */
  public long lastRevision() {
    synchronized (lock) {
      return lastRevision;
    }
  }

  private void relist() {
    if (closed) {
      return;
    }
    client
        .getKVClient()
        .get(prefix, GetOption.builder().isPrefix(true).build())
        .whenComplete(
            (response, error) -> {
              if (error != null) {
                retryLater("list failed: " + error);
                return;
              }
              List<MeshChange> listing = new ArrayList<>();
              for (KeyValue kv : response.getKvs()) {
                decodePut(kv).ifPresent(listing::add);
              }
              long revision = response.getHeader().getRevision();
              listedRevision = revision;
              model.replaceAll(revision, listing);
              synchronized (lock) {
                lastRevision = revision;
                backoff = MIN_BACKOFF;
              }
              log.info("listed {} keys at revision {}", response.getKvs().size(), revision);
              watchFrom(revision);
            });
  }

  private void watchFrom(long listedRevision) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      lastRevision = Math.max(lastRevision, listedRevision);
      WatchOption option =
          WatchOption.builder().isPrefix(true).withRevision(listedRevision + 1).build();
      watcher =
          client
              .getWatchClient()
              .watch(prefix, option, Watch.listener(this::onWatch, this::onWatchError));
      synced = true;
    }
  }

  private void onWatch(WatchResponse response) {
    synchronized (lock) {
      backoff = MIN_BACKOFF;
    }
    synced = true;
    List<MeshChange> changes = new ArrayList<>();
    long revision = 0;
    for (WatchEvent event : response.getEvents()) {
      KeyValue kv = event.getKeyValue();
      revision = Math.max(revision, kv.getModRevision());
      if (event.getEventType() == WatchEvent.EventType.DELETE) {
        StoreCodec.decodeDelete(kv.getKey().toString(StandardCharsets.UTF_8))
            .ifPresent(changes::add);
      } else if (event.getEventType() == WatchEvent.EventType.PUT) {
        decodePut(kv).ifPresent(changes::add);
      }
    }
    log.debug("watch: {} events up to revision {}", response.getEvents().size(), revision);
    if (revision > 0) {
      synchronized (lock) {
        lastRevision = Math.max(lastRevision, revision);
      }
      model.apply(revision, changes);
    }
  }

  private void onWatchError(Throwable error) {
    synced = false;
    closeWatcher();
    if (error instanceof CompactedException) {
      // The history after our revision is gone: only a fresh listing can tell what changed.
      log.warn("watch compacted past revision {}; listing again", lastRevision());
      relist();
    } else {
      long resumeAt = lastRevision();
      retryLater(
          "watch failed (" + error + "); resuming after revision " + resumeAt,
          () -> watchFrom(resumeAt));
    }
  }

  private void retryLater(String reason) {
    retryLater(reason + "; listing again", this::relist);
  }

  private void retryLater(String reason, Runnable retry) {
    synced = false;
    if (closed) {
      return;
    }
    Duration delay;
    synchronized (lock) {
      delay = backoff;
      backoff =
          backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
              ? MAX_BACKOFF
              : backoff.multipliedBy(2);
    }
    log.warn("{} in {} ms", reason, delay.toMillis());
    scheduler.schedule(retry, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private Optional<MeshChange> decodePut(KeyValue kv) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    try {
      return StoreCodec.decodePut(key, kv.getValue(), kv.getModRevision(), kv.getVersion());
    } catch (InvalidMessageException e) {
      log.warn("ignoring invalid value at {}: {}", key, e.getMessage());
      return Optional.empty();
    }
  }

  private void closeWatcher() {
    synchronized (lock) {
      if (watcher != null) {
        watcher.close();
        watcher = null;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    closeWatcher();
  }
}
