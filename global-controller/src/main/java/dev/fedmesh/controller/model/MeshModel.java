package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds {@link MeshSnapshot}s from the store's changes. Changes are applied as they come; the
 * snapshot is published debounced, so a burst of changes costs one config push.
 *
 * <p>All state is confined to {@code executor}: callers hand changes over with {@link #replaceAll}
 * and {@link #apply}, which return at once.
 */
public final class MeshModel {
  private static final Logger log = LoggerFactory.getLogger(MeshModel.class);

  private final ScheduledExecutorService executor;
  private final Debouncer debouncer;
  private final Consumer<MeshSnapshot> publisher;

  private final Map<ClusterName, ClusterInfo> clusters = new HashMap<>();
  private final Set<ClusterName> sessions = new HashSet<>();
  private final Map<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> services =
      new HashMap<>();
  private long revision;
  private long version;
  private volatile MeshSnapshot current = MeshSnapshot.EMPTY;

  public MeshModel(
      ScheduledExecutorService executor,
      LongSupplier nanoTime,
      Duration quietPeriod,
      Duration maxDelay,
      Consumer<MeshSnapshot> publisher) {
    this.executor = requireNonNull(executor, "executor");
    this.publisher = requireNonNull(publisher, "publisher");
    this.debouncer = new Debouncer(executor, nanoTime, quietPeriod, maxDelay, this::publish);
  }

  /** The last published snapshot. */
  public MeshSnapshot current() {
    return current;
  }

  /** Replaces the whole model with a fresh listing taken at {@code revision}. */
  public void replaceAll(long revision, List<MeshChange> listing) {
    executor.execute(
        () -> {
          clusters.clear();
          sessions.clear();
          services.clear();
          listing.forEach(this::applyOne);
          this.revision = revision;
          debouncer.signal();
        });
  }

  /** Applies changes observed at {@code revision}. */
  public void apply(long revision, List<MeshChange> changes) {
    executor.execute(
        () -> {
          changes.forEach(this::applyOne);
          this.revision = Math.max(this.revision, revision);
          debouncer.signal();
        });
  }

  private void applyOne(MeshChange change) {
    if (change instanceof MeshChange.ClusterPut put) {
      clusters.put(put.info().name(), put.info());
    } else if (change instanceof MeshChange.ClusterDeleted deleted) {
      clusters.remove(deleted.cluster());
    } else if (change instanceof MeshChange.SessionPut put) {
      sessions.add(put.cluster());
    } else if (change instanceof MeshChange.SessionDeleted deleted) {
      sessions.remove(deleted.cluster());
    } else if (change instanceof MeshChange.ServicePut put) {
      services
          .computeIfAbsent(put.shard().service(), key -> new TreeMap<>())
          .put(put.shard().cluster(), put.shard());
    } else if (change instanceof MeshChange.ServiceDeleted deleted) {
      SortedMap<ClusterName, ServiceEndpoints> shards = services.get(deleted.service());
      if (shards != null) {
        shards.remove(deleted.cluster());
        if (shards.isEmpty()) {
          services.remove(deleted.service());
        }
      }
    }
  }

  private void publish() {
    TreeMap<ClusterName, ClusterState> clusterStates = new TreeMap<>();
    clusters.forEach(
        (name, info) -> clusterStates.put(name, new ClusterState(info, sessions.contains(name))));
    MeshSnapshot snapshot =
        new MeshSnapshot(++version, revision, clusterStates, new TreeMap<>(services));
    current = snapshot;
    log.debug(
        "publishing mesh version {} at revision {}: {} clusters, {} services",
        snapshot.version(),
        snapshot.revision(),
        snapshot.clusters().size(),
        snapshot.services().size());
    try {
      publisher.accept(snapshot);
    } catch (RuntimeException e) {
      // The model must keep going; the next change publishes again.
      log.error("publishing mesh version {} failed", snapshot.version(), e);
    }
  }
}
