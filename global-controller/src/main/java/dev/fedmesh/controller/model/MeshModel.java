package dev.fedmesh.controller.model;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Debouncer;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicySet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
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
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final Settings settings;
  private final Debouncer debouncer;
  private final Consumer<MeshSnapshot> publisher;
  private final Map<ClusterName, Instant> disconnectedSince = new HashMap<>();
  private final Map<ClusterName, Instant> connectedSince = new HashMap<>();
  private ScheduledFuture<?> livenessTimer;

  private final Map<ClusterName, ClusterInfo> clusters = new HashMap<>();
  private final Set<ClusterName> sessions = new HashSet<>();
  private final Map<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> services =
      new HashMap<>();
  private final Map<String, Policy> policies = new HashMap<>();
  private final SortedMap<String, String> virtualAddresses = new TreeMap<>();

  /** What snapshots carry of {@link #virtualAddresses}; a new object only when they change. */
  private MeshSnapshot.Frozen publishedAddresses = new MeshSnapshot.Frozen(Map.of());

  private boolean addressesChanged;
  private PolicySet policySet = PolicySet.EMPTY;
  private boolean policiesChanged;
  private long revision;
  private long version;
  private long firstChangeNanos;
  private volatile MeshSnapshot current = MeshSnapshot.EMPTY;
  private volatile long publishedRevision = -1;

  /**
   * How the model publishes.
   *
   * @param quietPeriod how long a burst of changes must be quiet before it is published
   * @param maxDelay the longest a change waits to be published
   * @param livenessGrace how long a disconnected cluster's endpoints are served as before
   * @param livenessExpiry how long after disconnecting its endpoints stop being served at all
   * @param failover the region failover order config generation applies
   */
  public record Settings(
      Duration quietPeriod,
      Duration maxDelay,
      Duration livenessGrace,
      Duration livenessExpiry,
      FailoverOrder failover) {
    public Settings {
      requireNonNull(quietPeriod, "quietPeriod");
      requireNonNull(maxDelay, "maxDelay");
      requireNonNull(livenessGrace, "livenessGrace");
      requireNonNull(livenessExpiry, "livenessExpiry");
      requireNonNull(failover, "failover");
      if (livenessExpiry.compareTo(livenessGrace) < 0) {
        throw new IllegalArgumentException(
            "livenessExpiry: "
                + livenessExpiry
                + " (expected: >= the grace period "
                + livenessGrace
                + ")");
      }
    }
  }

  public MeshModel(
      ScheduledExecutorService executor,
      Clock clock,
      LongSupplier nanoTime,
      Settings settings,
      Consumer<MeshSnapshot> publisher) {
    this.executor = requireNonNull(executor, "executor");
    this.clock = requireNonNull(clock, "clock");
    this.settings = requireNonNull(settings, "settings");
    this.publisher = requireNonNull(publisher, "publisher");
    this.nanoTime = nanoTime;
    this.debouncer =
        new Debouncer(
            executor, nanoTime, settings.quietPeriod(), settings.maxDelay(), this::publish);
  }

  /** The last published snapshot. */
  public MeshSnapshot current() {
    return current;
  }

  /**
   * The etcd revision of the last snapshot handed to the publisher without error, or -1 before the
   * first: what proxies are served is at least this fresh.
   */
  public long publishedRevision() {
    return publishedRevision;
  }

  /** Replaces the whole model with a fresh listing taken at {@code revision}. */
  public void replaceAll(long revision, List<MeshChange> listing) {
    executor.execute(
        () -> {
          clusters.clear();
          sessions.clear();
          services.clear();
          policies.clear();
          virtualAddresses.clear();
          addressesChanged = true;
          policiesChanged = true;
          listing.forEach(this::applyOne);
          disconnectedSince.keySet().removeIf(sessions::contains);
          this.revision = revision;
          changed();
        });
  }

  /** Applies changes observed at {@code revision}. */
  public void apply(long revision, List<MeshChange> changes) {
    executor.execute(
        () -> {
          changes.forEach(this::applyOne);
          this.revision = Math.max(this.revision, revision);
          changed();
        });
  }

  private void applyOne(MeshChange change) {
    if (change instanceof MeshChange.ClusterPut put) {
      clusters.put(put.info().name(), put.info());
    } else if (change instanceof MeshChange.ClusterDeleted deleted) {
      clusters.remove(deleted.cluster());
      disconnectedSince.remove(deleted.cluster());
    } else if (change instanceof MeshChange.SessionPut put) {
      if (sessions.add(put.cluster())) {
        connectedSince.put(put.cluster(), clock.instant());
      }
      disconnectedSince.remove(put.cluster());
    } else if (change instanceof MeshChange.SessionDeleted deleted) {
      sessions.remove(deleted.cluster());
      connectedSince.remove(deleted.cluster());
      disconnectedSince.put(deleted.cluster(), clock.instant());
    } else if (change instanceof MeshChange.ServicePut put) {
      // Copy on write: a service's shard map is never changed once published, so an unchanged
      // service is the same object in consecutive snapshots and its config can be reused.
      SortedMap<ClusterName, ServiceEndpoints> shards =
          new TreeMap<>(services.getOrDefault(put.shard().service(), new TreeMap<>()));
      shards.put(put.shard().cluster(), put.shard());
      services.put(put.shard().service(), Collections.unmodifiableSortedMap(shards));
    } else if (change instanceof MeshChange.PolicyPut put) {
      policies.put(put.policy().id(), put.policy());
      policiesChanged = true;
    } else if (change instanceof MeshChange.PolicyDeleted deleted) {
      policiesChanged |= policies.remove(deleted.id()) != null;
    } else if (change instanceof MeshChange.VirtualAddressPut put) {
      addressesChanged |= !put.address().equals(virtualAddresses.put(put.host(), put.address()));
    } else if (change instanceof MeshChange.VirtualAddressDeleted deleted) {
      addressesChanged |= virtualAddresses.remove(deleted.host()) != null;
    } else if (change instanceof MeshChange.ServiceDeleted deleted) {
      SortedMap<ClusterName, ServiceEndpoints> previous = services.get(deleted.service());
      if (previous != null && previous.containsKey(deleted.cluster())) {
        SortedMap<ClusterName, ServiceEndpoints> shards = new TreeMap<>(previous);
        shards.remove(deleted.cluster());
        if (shards.isEmpty()) {
          services.remove(deleted.service());
        } else {
          services.put(deleted.service(), Collections.unmodifiableSortedMap(shards));
        }
      }
    }
  }

  private void changed() {
    if (firstChangeNanos == 0) {
      firstChangeNanos = nanoTime.getAsLong();
    }
    debouncer.signal();
  }

  /** Publishes again when the next cluster changes liveness, even if nothing else changes. */
  private void scheduleLivenessCheck(Instant now, Instant at) {
    if (livenessTimer != null) {
      livenessTimer.cancel(false);
      livenessTimer = null;
    }
    if (at != null) {
      long delay = Math.max(0, Duration.between(now, at).toNanos());
      livenessTimer = executor.schedule(debouncer::signal, delay, TimeUnit.NANOSECONDS);
    }
  }

  private MeshSnapshot.Frozen frozenAddresses() {
    if (addressesChanged) {
      publishedAddresses = new MeshSnapshot.Frozen(virtualAddresses);
      addressesChanged = false;
    }
    return publishedAddresses;
  }

  private void publish() {
    Instant now = clock.instant();
    TreeMap<ClusterName, ClusterState> clusterStates = new TreeMap<>();
    Instant nextTransition = null;
    for (Map.Entry<ClusterName, ClusterInfo> entry : clusters.entrySet()) {
      ClusterName name = entry.getKey();
      if (sessions.contains(name)) {
        Instant since = connectedSince.computeIfAbsent(name, ignored -> now);
        clusterStates.put(name, new ClusterState(entry.getValue(), Liveness.CONNECTED, since));
        continue;
      }
      // A cluster seen without a session (at start-up, say) counts as disconnected from then.
      Instant since = disconnectedSince.computeIfAbsent(name, ignored -> now);
      Instant demoted = since.plus(settings.livenessGrace());
      Instant expired = since.plus(settings.livenessExpiry());
      Liveness liveness;
      Instant next;
      if (now.isBefore(demoted)) {
        liveness = Liveness.GRACE;
        next = demoted;
      } else if (now.isBefore(expired)) {
        liveness = Liveness.DEMOTED;
        next = expired;
      } else {
        liveness = Liveness.EXPIRED;
        next = null;
      }
      clusterStates.put(name, new ClusterState(entry.getValue(), liveness, since));
      if (next != null && (nextTransition == null || next.isBefore(nextTransition))) {
        nextTransition = next;
      }
    }
    scheduleLivenessCheck(now, nextTransition);
    if (policiesChanged) {
      policySet = PolicySet.of(policies.values());
      policiesChanged = false;
    }
    MeshSnapshot snapshot =
        new MeshSnapshot(
            ++version,
            revision,
            clusterStates,
            new TreeMap<>(services),
            settings.failover(),
            policySet,
            firstChangeNanos,
            frozenAddresses());
    firstChangeNanos = 0;
    current = snapshot;
    log.debug(
        "publishing mesh version {} at revision {}: {} clusters, {} services",
        snapshot.version(),
        snapshot.revision(),
        snapshot.clusters().size(),
        snapshot.services().size());
    try {
      publisher.accept(snapshot);
      publishedRevision = snapshot.revision();
    } catch (RuntimeException e) {
      // The model must keep going; the next change publishes again.
      log.error("publishing mesh version {} failed", snapshot.version(), e);
    }
  }
}
