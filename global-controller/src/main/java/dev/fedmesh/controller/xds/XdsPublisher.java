package dev.fedmesh.controller.xds;

import com.google.protobuf.Message;
import dev.fedmesh.controller.ControllerMetrics;
import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ProxyRole;
import dev.fedmesh.controller.configgen.ResourceConsistency;
import dev.fedmesh.controller.configgen.XdsResources;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.XdsNames;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.SimpleCache;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the mesh over ADS (state-of-the-world and delta) through java-control-plane. Proxies with
 * equal {@link ProxyContext}s form a group that shares one cached snapshot, so a push costs one
 * config generation per group, not per proxy. Versions are content hashes (see {@link
 * XdsSnapshot}): what did not change keeps its version and is not resent, and every replica gives
 * equal config equal versions.
 *
 * <p>It also keeps, per stream, what was sent and what the proxy answered (for {@code fedmesh
 * proxy-status}), and measures convergence: from the model seeing a change to the moment every
 * proxy it affects has acknowledged the versions that carry it.
 */
public final class XdsPublisher implements DiscoveryServerCallbacks {
  private static final Logger log = LoggerFactory.getLogger(XdsPublisher.class);
  private static final Map<Resources.ResourceType, String> TYPES =
      Map.of(
          Resources.ResourceType.CLUSTER, Resources.V3.CLUSTER_TYPE_URL,
          Resources.ResourceType.ENDPOINT, Resources.V3.ENDPOINT_TYPE_URL,
          Resources.ResourceType.LISTENER, Resources.V3.LISTENER_TYPE_URL,
          Resources.ResourceType.ROUTE, Resources.V3.ROUTE_TYPE_URL);

  private final Clock clock;
  private final LongSupplier nanoTime;
  private final ControllerMetrics metrics;
  private final SimpleCache<String, XdsSnapshot> cache = new PartialRequestSafeCache();
  private final V3DiscoveryServer server;
  private final Map<String, ProxyContext> groups = new ConcurrentHashMap<>();
  private final Map<Long, StreamState> streams = new ConcurrentHashMap<>();

  /** Guards {@link #converging} and {@link #membersByGroup}; never held while generating. */
  private final Object convergence = new Object();

  private final Map<String, Convergence> converging = new HashMap<>();
  private final Map<String, Set<Long>> membersByGroup = new HashMap<>();
  private final Map<String, GroupState> groupStates = new HashMap<>();
  private MeshSnapshot mesh = MeshSnapshot.EMPTY;
  private final GroupLimits limits;

  /** Groups moving through make-before-break stages; guarded by {@link #convergence}. */
  private final Map<String, Rollout> rollouts = new HashMap<>();

  /** How long a stage waits for its group's acknowledgements before the next is served anyway. */
  private static final java.time.Duration STAGE_DEADLINE = java.time.Duration.ofSeconds(3);

  private final java.util.concurrent.ScheduledExecutorService rolloutTimer =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "xds-rollout");
            thread.setDaemon(true);
            return thread;
          });

  /** The stages left of one group's change, and the one being served. */
  private static final class Rollout {
    private final java.util.ArrayDeque<XdsSnapshot> remaining;
    private XdsSnapshot current;

    Rollout(List<XdsSnapshot> stages) {
      this.remaining = new java.util.ArrayDeque<>(stages.subList(1, stages.size()));
      this.current = stages.get(0);
    }
  }

  /** When each group lost its last stream; guarded by {@link #convergence}. */
  private final Map<String, Instant> idleSince = new HashMap<>();

  /**
   * Bounds on proxy groups, which any client that passes authentication can create by announcing a
   * new (role, cluster, network, locality): each costs a snapshot regenerated on every change.
   *
   * @param maxPerCluster groups one cluster may have; a new one past it is refused
   * @param idleTtl how long a group with no stream is kept before it is dropped
   */
  public record GroupLimits(int maxPerCluster, java.time.Duration idleTtl) {
    public static final GroupLimits DEFAULT = new GroupLimits(128, java.time.Duration.ofMinutes(5));

    public GroupLimits {
      if (maxPerCluster < 1) {
        throw new IllegalArgumentException(
            "maxGroupsPerCluster: " + maxPerCluster + " (expected: >= 1)");
      }
      if (idleTtl.isNegative()) {
        throw new IllegalArgumentException("idleGroupTtl: " + idleTtl + " (expected: >= 0)");
      }
    }
  }

  public XdsPublisher(Clock clock, LongSupplier nanoTime, ControllerMetrics metrics) {
    this(clock, nanoTime, metrics, GroupLimits.DEFAULT);
  }

  public XdsPublisher(
      Clock clock, LongSupplier nanoTime, ControllerMetrics metrics, GroupLimits limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.metrics = metrics;
    // The cached serializer packs each resource into an Any once, not once per proxy.
    this.server =
        new V3DiscoveryServer(
            List.of(this), cache, new DefaultExecutorGroup(), new CachedProtoResourcesSerializer());
    metrics.gauge(
        "fedmesh_xds_connected_proxies", "Proxies with an open ADS stream", this::connectedProxies);
    metrics.gauge("fedmesh_xds_proxy_groups", "Proxy groups sharing a snapshot", groups::size);
  }

  /** The ADS service, to add to the controller's gRPC server. */
  public ServerServiceDefinition service() {
    return ServerInterceptors.intercept(
        server.getAggregatedDiscoveryServiceImpl(),
        new XdsStreamInterceptor(size -> metrics.oversizedResponses.inc()));
  }

  /** Regenerates every known group's snapshot from {@code snapshot}. */
  public synchronized void publish(MeshSnapshot snapshot) {
    long start = nanoTime.getAsLong();
    this.mesh = snapshot;
    for (ProxyContext context : groups.values()) {
      update(context, snapshot.changedAtNanos() == 0 ? start : snapshot.changedAtNanos());
    }
    metrics.pushSeconds.observe((nanoTime.getAsLong() - start) / 1e9);
  }

  /** The resources a proxy with {@code context} is served now (for admin and debugging). */
  public synchronized XdsResources resourcesFor(ProxyContext context) {
    return ConfigGenerator.generate(mesh, context);
  }

  /** Every connected proxy's stream status, by node id. */
  public Map<String, ProxyStatus> proxies() {
    Map<String, ProxyStatus> result = new TreeMap<>();
    for (StreamState stream : streams.values()) {
      if (stream.nodeId != null) {
        result.put(stream.nodeId, stream.status());
      }
    }
    return result;
  }

  /**
   * Which connected proxies hold config made from etcd revision {@code revision} or later.
   *
   * @param synced how many hold it
   * @param connected how many are connected to this replica
   * @param waiting the node ids of those that do not hold it yet, sorted
   */
  public record Holding(int synced, int connected, List<String> waiting) {
    public Holding {
      waiting = List.copyOf(waiting);
    }
  }

  /**
   * Which connected proxies hold config made from etcd revision {@code revision} or later: the
   * snapshots now served were built from a mesh at or past it, and the proxy acknowledged every
   * type it watches of its group's snapshot. What {@code fedmesh get} and the web UI report per
   * policy.
   */
  public synchronized Holding proxiesHolding(long revision) {
    int connected = 0;
    int synced = 0;
    List<String> waiting = new ArrayList<>();
    boolean published = mesh.revision() >= revision;
    for (StreamState stream : streams.values()) {
      if (stream.nodeId == null || stream.group == null) {
        continue;
      }
      connected++;
      XdsSnapshot snapshot = cache.getSnapshot(stream.group);
      boolean rollingOut;
      synchronized (convergence) {
        rollingOut = rollouts.containsKey(stream.group);
      }
      if (published && !rollingOut && snapshot != null && stream.holds(snapshot)) {
        synced++;
      } else {
        waiting.add(stream.nodeId);
      }
    }
    java.util.Collections.sort(waiting);
    return new Holding(synced, connected, waiting);
  }

  public int connectedProxies() {
    return (int) streams.values().stream().filter(s -> s.nodeId != null).count();
  }

  /** The snapshot the cache serves {@code group} (for tests). */
  XdsSnapshot servedSnapshot(ProxyContext group) {
    return cache.getSnapshot(group.groupKey());
  }

  /** Serves a group no proxy has asked for yet (for tests). */
  synchronized void addGroup(ProxyContext context) {
    if (groups.putIfAbsent(context.groupKey(), context) == null) {
      update(context, 0);
    }
  }

  private void ensureGroup(Node node) throws RequestException {
    ProxyContext context;
    try {
      context = ProxyContexts.fromNode(node);
    } catch (IllegalArgumentException e) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
    }
    if (groups.containsKey(context.groupKey())) {
      return;
    }
    synchronized (this) {
      if (groups.containsKey(context.groupKey())) {
        return;
      }
      if (groupsOf(context.cluster()) >= limits.maxPerCluster()) {
        sweepIdleGroups();
      }
      long existing = groupsOf(context.cluster());
      if (existing >= limits.maxPerCluster()) {
        metrics.refusedGroups.inc();
        throw new RequestException(
            Status.RESOURCE_EXHAUSTED.withDescription(
                "proxy groups of cluster '"
                    + context.cluster()
                    + "': "
                    + existing
                    + " (expected: at most "
                    + limits.maxPerCluster()
                    + " distinct role, network and locality per cluster); refused "
                    + context.groupKey()));
      }
      groups.put(context.groupKey(), context);
      synchronized (convergence) {
        idleSince.put(context.groupKey(), clock.instant());
      }
      log.info("new proxy group {}", context.groupKey());
      update(context, 0);
    }
  }

  private long groupsOf(String cluster) {
    return groups.values().stream().filter(group -> group.cluster().equals(cluster)).count();
  }

  /**
   * Drops every group that has had no stream for the idle TTL: its snapshot is no longer generated
   * on each change. A proxy of that group that comes back later gets a fresh one.
   */
  public synchronized int sweepIdleGroups() {
    Instant cutoff = clock.instant().minus(limits.idleTtl());
    List<String> idle = new ArrayList<>();
    synchronized (convergence) {
      idleSince.forEach(
          (group, since) -> {
            boolean empty = membersByGroup.getOrDefault(group, Set.of()).isEmpty();
            if (empty && !since.isAfter(cutoff)) {
              idle.add(group);
            }
          });
      for (String group : idle) {
        idleSince.remove(group);
        membersByGroup.remove(group);
        converging.remove(group);
      }
    }
    for (String group : idle) {
      groups.remove(group);
      groupStates.remove(group);
      cache.clearSnapshot(group);
      log.info("dropped idle proxy group {}", group);
    }
    return idle.size();
  }

  /** How many groups are served now. */
  public int groupCount() {
    return groups.size();
  }

  private void update(ProxyContext context, long changedAtNanos) {
    long start = nanoTime.getAsLong();
    GroupState state = groupStates.computeIfAbsent(context.groupKey(), key -> new GroupState());
    XdsSnapshot snapshot;
    try {
      snapshot = state.update(mesh, context);
    } catch (IllegalStateException inconsistent) {
      // A bug in config generation; serving it would leave proxies waiting for resources.
      log.error(
          "snapshot for group {} not served: {}", context.groupKey(), inconsistent.getMessage());
      groupStates.remove(context.groupKey());
      return;
    }
    metrics.generationSeconds.observe((nanoTime.getAsLong() - start) / 1e9);
    String group = context.groupKey();
    if (changedAtNanos != 0) {
      synchronized (convergence) {
        Set<Long> members = new HashSet<>(membersByGroup.getOrDefault(group, Set.of()));
        Convergence previous = converging.get(group);
        // A change not yet converged keeps its start: we measure from the oldest unconverged one.
        long since = previous == null ? changedAtNanos : Math.min(previous.since, changedAtNanos);
        converging.put(group, new Convergence(since, snapshot, members));
      }
    }
    // Make before break: new clusters before the routes that name them, routes before clusters go.
    List<XdsSnapshot> stages;
    Rollout rollout = null;
    synchronized (convergence) {
      // Stages protect connected proxies; a group without one gets the change at once.
      boolean connected = !membersByGroup.getOrDefault(group, Set.of()).isEmpty();
      stages =
          connected ? ConfigRollout.stages(cache.getSnapshot(group), snapshot) : List.of(snapshot);
      if (stages.size() > 1) {
        rollout = new Rollout(stages);
        rollouts.put(group, rollout);
      } else {
        rollouts.remove(group);
      }
    }
    cache.setSnapshot(group, stages.get(0));
    if (rollout != null) {
      stageServed(group, rollout, rollout.current);
    }
    if (changedAtNanos != 0) {
      synchronized (convergence) {
        Convergence pending = converging.get(group);
        if (pending != null) {
          pending.streams.removeIf(
              id -> {
                StreamState stream = streams.get(id);
                return stream == null || stream.holds(pending.snapshot);
              });
          finishIfConverged(group, pending);
        }
      }
    }
  }

  /** A stage is served: the next follows once every stream holds it, or at the deadline. */
  private void stageServed(String group, Rollout rollout, XdsSnapshot stage) {
    rolloutTimer.schedule(
        () -> advance(group, rollout, stage),
        STAGE_DEADLINE.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    advanceIfHeld(group);
  }

  /** After an ACK (or a stage served): moves the group on if every stream holds its stage. */
  private void advanceIfHeld(String group) {
    Rollout rollout;
    XdsSnapshot stage;
    synchronized (convergence) {
      rollout = rollouts.get(group);
      if (rollout == null) {
        return;
      }
      stage = rollout.current;
      for (Long id : membersByGroup.getOrDefault(group, Set.of())) {
        StreamState stream = streams.get(id);
        if (stream != null && !stream.holds(stage)) {
          return;
        }
      }
    }
    rolloutTimer.execute(() -> advance(group, rollout, stage));
  }

  /**
   * Serves the stage after {@code stage}, unless the group has moved on meanwhile (a later change
   * replaced the rollout, or this stage was already left). Synchronized with {@link #publish} so a
   * stage never overwrites a newer change.
   */
  private synchronized void advance(String group, Rollout rollout, XdsSnapshot stage) {
    XdsSnapshot next;
    boolean more;
    synchronized (convergence) {
      if (rollouts.get(group) != rollout || rollout.current != stage) {
        return;
      }
      next = rollout.remaining.poll();
      more = !rollout.remaining.isEmpty();
      if (!more) {
        rollouts.remove(group);
      }
      rollout.current = next;
    }
    cache.setSnapshot(group, next);
    if (more) {
      stageServed(group, rollout, next);
    }
  }

  /** After an ACK: whether this stream now holds what its group is converging to. */
  private void checkStream(String group, long streamId, StreamState stream) {
    synchronized (convergence) {
      Convergence pending = converging.get(group);
      if (pending != null && pending.streams.contains(streamId) && stream.holds(pending.snapshot)) {
        pending.streams.remove(streamId);
        finishIfConverged(group, pending);
      }
    }
  }

  private void finishIfConverged(String group, Convergence pending) {
    if (pending.streams.isEmpty() && converging.remove(group) == pending) {
      metrics.convergenceSeconds.observe((nanoTime.getAsLong() - pending.since) / 1e9);
    }
  }

  private record Convergence(long since, XdsSnapshot snapshot, Set<Long> streams) {}

  /**
   * What one group's last generation left behind for the next: each service's resources with the
   * shard map they were made from, every resource by type and name, and each resource's content
   * hash by identity. A change then regenerates only the services whose shards changed, keeps the
   * old object wherever a regenerated resource is equal to it, and rebuilds only the resource types
   * where something changed; the others are reused as they are.
   */
  private static final class GroupState {
    private static final List<Resources.ResourceType> SERVED =
        List.of(
            Resources.ResourceType.CLUSTER,
            Resources.ResourceType.ENDPOINT,
            Resources.ResourceType.LISTENER,
            Resources.ResourceType.ROUTE);

    private Object clusters;
    private Object failover;
    private Object policies;
    private Map<ServiceKey, Memo> memo = new HashMap<>();
    private final Map<ServiceKey, SortedMap<String, VirtualHost>> virtualHosts = new HashMap<>();
    private final Map<ServiceKey, SortedMap<String, FilterChain>> tcpChains = new HashMap<>();
    private final Map<ServiceKey, SortedMap<String, List<String>>> dnsNames = new HashMap<>();

    /**
     * The ServiceEntries' resources, regenerated at every update: there are few, and their routes
     * may name any service's clusters; the merge keeps whatever did not change.
     */
    private Memo entries;

    private SortedMap<String, VirtualHost> entryHosts = new java.util.TreeMap<>();
    private SortedMap<String, FilterChain> entryChains = new java.util.TreeMap<>();
    private SortedMap<String, List<String>> entryNames = new java.util.TreeMap<>();
    private Object virtualAddresses;
    private final Map<Resources.ResourceType, Map<String, Message>> merged =
        new EnumMap<>(Resources.ResourceType.class);
    private final Map<Resources.ResourceType, XdsSnapshot.Typed<?>> built =
        new EnumMap<>(Resources.ResourceType.class);
    private Map<Message, Long> hashes = new IdentityHashMap<>();

    /**
     * @param dependencies the shard maps of the other services the service's routes name (a
     *     VirtualService's destinations), by identity; null values for services absent then
     * @param virtualAddress the service's virtual address then, or null
     */
    private record Memo(
        SortedMap<ClusterName, ServiceEndpoints> shards,
        Map<ServiceKey, Object> dependencies,
        Map<Resources.ResourceType, Map<String, Message>> resources,
        String virtualAddress) {
      boolean unchanged(
          MeshSnapshot mesh,
          ServiceKey key,
          SortedMap<ClusterName, ServiceEndpoints> now,
          boolean addressesChanged) {
        if (shards != now
            || (addressesChanged
                && !java.util.Objects.equals(
                    virtualAddress, mesh.virtualAddress(key.fqdn()).orElse(null)))) {
          return false;
        }
        for (Map.Entry<ServiceKey, Object> dependency : dependencies.entrySet()) {
          if (mesh.services().get(dependency.getKey()) != dependency.getValue()) {
            return false;
          }
        }
        return true;
      }
    }

    /** The other services whose shards {@code service}'s config is made from. */
    private static Map<ServiceKey, Object> dependencies(MeshSnapshot mesh, ServiceKey service) {
      Map<ServiceKey, Object> dependencies = new HashMap<>();
      mesh.policies()
          .virtualServiceFor(service.fqdn())
          .ifPresent(
              vs -> {
                List<dev.fedmesh.model.policy.VirtualService.Destination> destinations =
                    new java.util.ArrayList<>();
                vs.http().forEach(route -> destinations.addAll(route.route()));
                vs.tcp().forEach(route -> destinations.addAll(route.route()));
                for (var destination : destinations) {
                  dev.fedmesh.model.policy.Hosts.service(destination.host())
                      .filter(key -> !key.equals(service))
                      .ifPresent(key -> dependencies.put(key, mesh.services().get(key)));
                }
              });
      return dependencies;
    }

    GroupState() {
      SERVED.forEach(type -> merged.put(type, new HashMap<>()));
    }

    XdsSnapshot update(MeshSnapshot mesh, ProxyContext context) {
      if (context.role() == ProxyRole.GATEWAY) {
        return whole(ConfigGenerator.generate(mesh, context));
      }
      // Policies change rarely and may touch any service's config: a change regenerates all.
      boolean everything =
          !mesh.clusters().equals(clusters)
              || !mesh.failover().equals(failover)
              || mesh.policies() != policies;
      boolean hostsChanged = false;
      boolean namesChanged = false;
      // The model keeps the same map while no virtual address changes.
      boolean addressesChanged = mesh.virtualAddresses() != virtualAddresses;
      virtualAddresses = mesh.virtualAddresses();
      clusters = mesh.clusters();
      failover = mesh.failover();
      policies = mesh.policies();
      Map<Resources.ResourceType, Set<String>> changed =
          new EnumMap<>(Resources.ResourceType.class);
      SERVED.forEach(type -> changed.put(type, new HashSet<>()));
      Map<ServiceKey, Memo> next = new HashMap<>();
      for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
          mesh.services().entrySet()) {
        Memo previous = memo.remove(service.getKey());
        if (!everything
            && previous != null
            && previous.unchanged(mesh, service.getKey(), service.getValue(), addressesChanged)) {
          next.put(service.getKey(), previous);
          continue;
        }
        XdsResources fresh =
            ConfigGenerator.generateService(mesh, context, service.getKey(), service.getValue());
        // Routes may name other services' clusters (a VirtualService's destinations); those are
        // generated with their own service.
        String own = "|" + service.getKey().fqdn();
        List<String> problems =
            ResourceConsistency.problems(fresh, cluster -> !cluster.endsWith(own));
        if (!problems.isEmpty()) {
          throw new IllegalStateException(service.getKey() + ": " + problems);
        }
        next.put(
            service.getKey(),
            new Memo(
                service.getValue(),
                dependencies(mesh, service.getKey()),
                merge(previous, fresh, changed),
                mesh.virtualAddress(service.getKey().fqdn()).orElse(null)));
        if (!fresh.dnsNames().equals(dnsNames.put(service.getKey(), fresh.dnsNames()))) {
          namesChanged = true;
        }
        if (!fresh
            .virtualHosts()
            .equals(virtualHosts.put(service.getKey(), fresh.virtualHosts()))) {
          hostsChanged = true;
        }
        if (!fresh.tcpChains().equals(tcpChains.put(service.getKey(), fresh.tcpChains()))) {
          hostsChanged = true;
        }
      }
      // Services gone from the mesh take their resources with them.
      for (ServiceKey gone : memo.keySet()) {
        hostsChanged |= virtualHosts.remove(gone) != null;
        hostsChanged |= tcpChains.remove(gone) != null;
        namesChanged |= dnsNames.remove(gone) != null;
      }
      for (Memo gone : memo.values()) {
        for (Resources.ResourceType type : SERVED) {
          for (String name : gone.resources().get(type).keySet()) {
            merged.get(type).remove(name);
            changed.get(type).add(name);
          }
        }
      }
      memo = next;
      XdsResources declared = ConfigGenerator.serviceEntries(mesh, context);
      // Their routes may name services' clusters, which those services' resources provide.
      List<String> entryProblems =
          ResourceConsistency.problems(
              declared, cluster -> !declared.clusters().containsKey(cluster));
      if (!entryProblems.isEmpty()) {
        throw new IllegalStateException("ServiceEntries: " + entryProblems);
      }
      entries = new Memo(null, Map.of(), merge(entries, declared, changed), null);
      if (!declared.dnsNames().equals(entryNames)) {
        namesChanged = true;
        entryNames = declared.dnsNames();
      }
      if (!declared.virtualHosts().equals(entryHosts)
          || !declared.tcpChains().equals(entryChains)) {
        hostsChanged = true;
        entryHosts = declared.virtualHosts();
        entryChains = declared.tcpChains();
      }
      if (context.role() == ProxyRole.SIDECAR && (hostsChanged || everything)) {
        Listener outbound =
            ConfigGenerator.sidecarOutboundListener(
                mesh,
                java.util.stream.Stream.concat(
                        tcpChains.values().stream().flatMap(chains -> chains.values().stream()),
                        entryChains.values().stream())
                    .sorted(java.util.Comparator.comparing(FilterChain::getName))
                    .toList());
        putDerived(Resources.ResourceType.LISTENER, outbound, outbound.getName(), changed);
        Cluster fallback = ConfigGenerator.sidecarFallbackCluster(mesh);
        putDerived(Resources.ResourceType.CLUSTER, fallback, fallback.getName(), changed);
        // The other policy's fallback cluster goes when the policy changes.
        for (String name : List.of(XdsNames.PASSTHROUGH_CLUSTER, XdsNames.BLACKHOLE_CLUSTER)) {
          if (!name.equals(fallback.getName())
              && merged.get(Resources.ResourceType.CLUSTER).remove(name) != null) {
            changed.get(Resources.ResourceType.CLUSTER).add(name);
          }
        }
        RouteConfiguration routes =
            ConfigGenerator.sidecarOutboundRoutes(
                java.util.stream.Stream.concat(
                        virtualHosts.values().stream().flatMap(hosts -> hosts.values().stream()),
                        entryHosts.values().stream())
                    .toList());
        putDerived(Resources.ResourceType.ROUTE, routes, routes.getName(), changed);
      }
      if (context.role() == ProxyRole.SIDECAR
          && context.dnsCapture()
          && (namesChanged || everything)) {
        // Services first, by name, then the ServiceEntries': a service keeps a name both claim.
        List<Map<String, List<String>>> parts =
            new java.util.ArrayList<>(new java.util.TreeMap<>(dnsNames).values());
        parts.add(entryNames);
        Listener dns = ConfigGenerator.sidecarDnsListener(parts);
        putDerived(Resources.ResourceType.LISTENER, dns, dns.getName(), changed);
      }
      if (context.role() == ProxyRole.SIDECAR && everything) {
        Optional<Listener> inbound = ConfigGenerator.sidecarInboundListener(mesh, context);
        if (inbound.isPresent()) {
          putDerived(
              Resources.ResourceType.LISTENER, inbound.get(), inbound.get().getName(), changed);
        } else if (merged.get(Resources.ResourceType.LISTENER).remove(XdsNames.VIRTUAL_INBOUND)
            != null) {
          changed.get(Resources.ResourceType.LISTENER).add(XdsNames.VIRTUAL_INBOUND);
        }
      }
      for (Resources.ResourceType type : SERVED) {
        XdsSnapshot.Typed<?> previous = built.get(type);
        if (previous == null || everything) {
          built.put(type, XdsSnapshot.Typed.of(merged.get(type), this::hash));
        } else if (!changed.get(type).isEmpty()) {
          built.put(type, previous.with(changed.get(type), merged.get(type), this::hash));
        }
      }
      retainHashes();
      return XdsSnapshot.of(built);
    }

    /**
     * Puts one regenerated service's resources into the merged maps, keeping the previous object
     * for every resource whose content did not change, and notes the types that did change.
     */
    private Map<Resources.ResourceType, Map<String, Message>> merge(
        Memo previous, XdsResources fresh, Map<Resources.ResourceType, Set<String>> changed) {
      Map<Resources.ResourceType, Map<String, Message>> kept =
          new EnumMap<>(Resources.ResourceType.class);
      for (Resources.ResourceType type : SERVED) {
        Map<String, ? extends Message> resources = byType(fresh, type);
        Map<String, Message> current = merged.get(type);
        Map<String, Message> mine = new HashMap<>();
        for (Map.Entry<String, ? extends Message> entry : resources.entrySet()) {
          Message old = current.get(entry.getKey());
          if (old != null && old.equals(entry.getValue())) {
            mine.put(entry.getKey(), old);
          } else {
            mine.put(entry.getKey(), entry.getValue());
            current.put(entry.getKey(), entry.getValue());
            changed.get(type).add(entry.getKey());
          }
        }
        if (previous != null) {
          for (String name : previous.resources().get(type).keySet()) {
            if (!mine.containsKey(name)) {
              current.remove(name);
              changed.get(type).add(name);
            }
          }
        }
        kept.put(type, mine);
      }
      return kept;
    }

    /** A resource made from every service's parts (a sidecar's outbound listener and routes). */
    private void putDerived(
        Resources.ResourceType type,
        Message resource,
        String name,
        Map<Resources.ResourceType, Set<String>> changed) {
      Message old = merged.get(type).get(name);
      if (!resource.equals(old)) {
        merged.get(type).put(name, resource);
        changed.get(type).add(name);
      }
    }

    /** The gateway's config is small and generated whole; its state is rebuilt each time. */
    private XdsSnapshot whole(XdsResources resources) {
      List<String> problems = ResourceConsistency.problems(resources);
      if (!problems.isEmpty()) {
        throw new IllegalStateException(problems.toString());
      }
      try {
        Snapshot.create(
                resources.clusters().values(),
                resources.endpoints().values(),
                resources.listeners().values(),
                resources.routes().values(),
                List.of(),
                "consistency-check")
            .ensureConsistent();
      } catch (SnapshotConsistencyException e) {
        throw new IllegalStateException(e.getMessage());
      }
      for (Resources.ResourceType type : SERVED) {
        built.put(type, XdsSnapshot.Typed.of(byType(resources, type), this::hash));
      }
      return XdsSnapshot.of(built);
    }

    private static Map<String, ? extends Message> byType(
        XdsResources resources, Resources.ResourceType type) {
      return switch (type) {
        case CLUSTER -> resources.clusters();
        case ENDPOINT -> resources.endpoints();
        case LISTENER -> resources.listeners();
        case ROUTE -> resources.routes();
        default -> Map.of();
      };
    }

    private long hash(Message resource) {
      return hashes.computeIfAbsent(resource, XdsSnapshot::contentHash);
    }

    /** Forgets the hashes of resources no longer served. */
    private void retainHashes() {
      if (hashes.size() < 2 * merged.values().stream().mapToInt(Map::size).sum() + 64) {
        return;
      }
      Map<Message, Long> kept = new IdentityHashMap<>();
      for (Map<String, Message> type : merged.values()) {
        for (Message resource : type.values()) {
          Long hash = hashes.get(resource);
          if (hash != null) {
            kept.put(resource, hash);
          }
        }
      }
      hashes = kept;
    }
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new StreamState(clock.instant()));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    streamEnded(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    streamEnded(streamId);
  }

  private void streamEnded(long streamId) {
    StreamState stream = streams.remove(streamId);
    if (stream != null && stream.group != null) {
      synchronized (convergence) {
        Set<Long> members = membersByGroup.get(stream.group);
        if (members != null) {
          members.remove(streamId);
          if (members.isEmpty()) {
            idleSince.put(stream.group, clock.instant());
          }
        }
        Convergence pending = converging.get(stream.group);
        if (pending != null) {
          pending.streams.remove(streamId);
          finishIfConverged(stream.group, pending);
        }
      }
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    StreamState stream = streams.computeIfAbsent(streamId, id -> new StreamState(clock.instant()));
    boolean newStream = stream.group == null;
    if (newStream) {
      ensureGroup(request.getNode());
    }
    boolean answered =
        stream.onRequest(
            request.getNode(),
            request.getTypeUrl(),
            request.getResourceNamesList(),
            request.getResponseNonce(),
            request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    if (newStream && stream.group != null) {
      joined(stream.group, streamId);
    }
    if (request.hasErrorDetail() && answered) {
      metrics.nacks.labelValues(shortType(request.getTypeUrl())).inc();
      log.warn(
          "proxy {} rejected {}: {}",
          request.getNode().getId(),
          shortType(request.getTypeUrl()),
          request.getErrorDetail().getMessage());
    }
    if (answered && stream.group != null) {
      checkStream(stream.group, streamId, stream);
      advanceIfHeld(stream.group);
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    StreamState stream = streams.computeIfAbsent(streamId, id -> new StreamState(clock.instant()));
    boolean newStream = stream.group == null;
    if (newStream) {
      ensureGroup(request.getNode());
    }
    boolean answered =
        stream.onRequest(
            request.getNode(),
            request.getTypeUrl(),
            null,
            request.getResponseNonce(),
            request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    if (newStream && stream.group != null) {
      joined(stream.group, streamId);
    }
    if (request.hasErrorDetail() && answered) {
      metrics.nacks.labelValues(shortType(request.getTypeUrl())).inc();
    }
  }

  private void joined(String group, long streamId) {
    synchronized (convergence) {
      membersByGroup.computeIfAbsent(group, key -> new HashSet<>()).add(streamId);
      idleSince.remove(group);
    }
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    metrics.pushes.labelValues(shortType(response.getTypeUrl())).inc();
    StreamState stream = streams.get(streamId);
    if (stream != null) {
      stream.onResponse(response.getTypeUrl(), response.getVersionInfo(), response.getNonce());
    }
  }

  @Override
  public void onV3StreamDeltaResponse(
      long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    metrics.pushes.labelValues(shortType(response.getTypeUrl())).inc();
    StreamState stream = streams.get(streamId);
    if (stream != null) {
      stream.onResponse(
          response.getTypeUrl(), response.getSystemVersionInfo(), response.getNonce());
    }
  }

  /** {@code type.googleapis.com/envoy.config.cluster.v3.Cluster} → {@code Cluster}. */
  static String shortType(String typeUrl) {
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
  }

  /**
   * java-control-plane's cache, minus one trap: for a request naming resources the proxy has not
   * seen, some present and some not yet, it tries to answer at once, its ADS rule refuses to answer
   * a partial set, and the watch is dropped without being left open; the proxy then waits forever.
   * Telling the cache the proxy already knows the names it asks for skips that shortcut, and the
   * ordinary path leaves the watch open until every name exists.
   */
  private static final class PartialRequestSafeCache extends SimpleCache<String, XdsSnapshot> {
    PartialRequestSafeCache() {
      super(node -> ProxyContexts.fromNode(node).groupKey());
    }

    @Override
    public io.envoyproxy.controlplane.cache.Watch createWatch(
        boolean ads,
        io.envoyproxy.controlplane.cache.XdsRequest request,
        Set<String> knownResourceNames,
        java.util.function.Consumer<io.envoyproxy.controlplane.cache.Response> responseConsumer,
        boolean hasClusterChanged,
        boolean allowDefaultEmptyEdsUpdate) {
      Set<String> known = knownResourceNames;
      List<String> names = request.getResourceNamesList();
      if (ads && !names.isEmpty() && request.getResourceType() != null) {
        XdsSnapshot snapshot =
            getSnapshot(ProxyContexts.fromNode(request.v3Request().getNode()).groupKey());
        if (snapshot != null) {
          Map<String, ? extends Message> present = snapshot.resources(request.getResourceType());
          if (names.stream().anyMatch(name -> !present.containsKey(name))) {
            known = Set.copyOf(names);
          }
        }
      }
      return super.createWatch(
          ads, request, known, responseConsumer, hasClusterChanged, allowDefaultEmptyEdsUpdate);
    }
  }

  /**
   * Per-stream bookkeeping. Requests arrive on gRPC threads while responses are recorded on
   * whichever thread pushed them (the model thread, for pushes), so every method is synchronized.
   */
  private static final class StreamState {
    private final Instant connectedAt;
    private volatile String nodeId;
    private volatile String group;
    private volatile ProxyContext context;
    private volatile List<String> addresses = List.of();
    private final Map<String, ProxyStatus.TypeStatus> types = new ConcurrentHashMap<>();
    private final Map<String, List<String>> requestedNames = new ConcurrentHashMap<>();

    StreamState(Instant connectedAt) {
      this.connectedAt = connectedAt;
    }

    /** Records a request; returns whether it answered (ACK or NACK) the latest response. */
    synchronized boolean onRequest(
        Node node, String typeUrl, List<String> names, String nonce, String error) {
      if (nodeId == null && node != null) {
        nodeId = node.getId();
        context = ProxyContexts.fromNode(node);
        group = context.groupKey();
        addresses = ProxyContexts.addresses(node);
      }
      if (names != null) {
        requestedNames.put(typeUrl, List.copyOf(names));
      }
      ProxyStatus.TypeStatus sent = types.getOrDefault(typeUrl, empty());
      if (nonce.isEmpty() || !nonce.equals(sent.sentNonce())) {
        return false; // an initial request, or an answer to a response that has been superseded
      }
      types.put(
          typeUrl,
          error == null
              ? new ProxyStatus.TypeStatus(
                  sent.sentVersion(),
                  sent.sentNonce(),
                  sent.sentVersion(),
                  sent.nackedVersion(),
                  sent.nackError())
              : new ProxyStatus.TypeStatus(
                  sent.sentVersion(),
                  sent.sentNonce(),
                  sent.ackedVersion(),
                  sent.sentVersion(),
                  error));
      return true;
    }

    synchronized void onResponse(String typeUrl, String version, String nonce) {
      ProxyStatus.TypeStatus previous = types.getOrDefault(typeUrl, empty());
      types.put(
          typeUrl,
          new ProxyStatus.TypeStatus(
              version,
              nonce,
              previous.ackedVersion(),
              previous.nackedVersion(),
              previous.nackError()));
    }

    /**
     * Whether the proxy has acknowledged, for every type it watches, what {@code snapshot} holds.
     */
    synchronized boolean holds(XdsSnapshot snapshot) {
      for (Map.Entry<Resources.ResourceType, String> entry : TYPES.entrySet()) {
        Resources.ResourceType type = entry.getKey();
        String typeUrl = entry.getValue();
        List<String> names = requestedNames.get(typeUrl);
        if (names == null) {
          continue; // the proxy does not watch this type
        }
        String expected = snapshot.version(type, names);
        ProxyStatus.TypeStatus status = types.get(typeUrl);
        String acked = status == null ? "" : status.ackedVersion();
        if (!expected.equals(acked)) {
          return false;
        }
      }
      return true;
    }

    synchronized ProxyStatus status() {
      ProxyContext known = context;
      return new ProxyStatus(
          nodeId,
          group,
          known == null ? "" : known.role().metadataValue(),
          known == null ? "" : known.cluster(),
          known == null ? "" : known.locality().toString(),
          known == null ? "" : known.namespace(),
          known == null ? Map.of() : known.labels(),
          addresses,
          connectedAt,
          types);
    }

    private static ProxyStatus.TypeStatus empty() {
      return new ProxyStatus.TypeStatus("", "", "", "", "");
    }
  }
}
