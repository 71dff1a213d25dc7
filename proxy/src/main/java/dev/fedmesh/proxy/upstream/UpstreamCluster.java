package dev.fedmesh.proxy.upstream;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * One upstream cluster as the proxy runs it: its hosts from EDS (or a static load assignment), the
 * load balancer, outlier detection and circuit breakers.
 *
 * <p>Load balancing follows Envoy. Each priority level's health is the share of its hosts that are
 * healthy (by EDS, not ejected, not excluded by the caller) times the overprovisioning factor (1.4
 * by default), capped at 100%; priority 0 takes as much load as its health allows and the rest
 * spills to the next level. Below the panic threshold (50% of total health by default) the balancer
 * gives up on health and uses every host of the first level with any, since sending to a few
 * survivors only would overload them. Within a level, a locality is chosen by its weight times its
 * own health, then a host by round robin (weighted), least request (power of two choices) or
 * random.
 */
public final class UpstreamCluster {
  /** The upstream HTTP protocol a cluster asks for. */
  public enum Protocol {
    HTTP1,
    HTTP2
  }

  private static final String HTTP_OPTIONS_KEY =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private final String name;
  private final LongSupplier nanoTime;
  private final RandomGenerator random;
  private final AtomicLong roundRobin = new AtomicLong();
  private final Map<InetSocketAddress, UpstreamHost> hostsByAddress = new LinkedHashMap<>();
  private volatile Cluster config;

  /** What requests ask of {@link #config} on every call, worked out once per config. */
  private volatile Derived derived;

  private volatile OutlierDetector detector;
  private volatile CircuitBreaker breaker;
  private volatile List<Level> levels = List.of();
  private volatile List<UpstreamHost> hosts = List.of();
  private volatile int overprovisioning = 140;

  /**
   * @param tls the transport socket's TLS, unpacked (the same instance for every request, so that
   *     connection pools keyed by it compare by identity)
   */
  private record Derived(
      Optional<UpstreamTlsContext> tls, boolean mutualTls, Protocol protocol, long connectTimeout) {
    static Derived of(Cluster config) {
      Optional<UpstreamTlsContext> tls = UpstreamCluster.tls(config);
      return new Derived(
          tls,
          tls.filter(t -> !dev.fedmesh.proxy.tls.TlsOrigination.applies(t)).isPresent(),
          UpstreamCluster.protocol(config),
          config.hasConnectTimeout() ? Durations.toMillis(config.getConnectTimeout()) : 5_000);
    }
  }

  private record Group(Locality locality, int weight, List<UpstreamHost> hosts) {}

  /**
   * @param hashTable the level's ring or Maglev table when the cluster balances by hash, else null
   */
  private record Level(
      int priority,
      List<Group> groups,
      int hostCount,
      HashTable hashTable,
      boolean localityWeighted) {
    Level(int priority, List<Group> groups, int hostCount, HashTable hashTable) {
      this(
          priority,
          groups,
          hostCount,
          hashTable,
          groups.size() > 1 && groups.stream().anyMatch(g -> g.weight() > 0));
    }
  }

  UpstreamCluster(String name, LongSupplier nanoTime, RandomGenerator random) {
    this.name = requireNonNull(name, "name");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.random = requireNonNull(random, "random");
  }

  /**
   * A STATIC cluster of one plaintext host: the inbound side's local application, or the original
   * destination a connection passes through to.
   */
  public static UpstreamCluster singleHost(
      String name, InetSocketAddress address, java.time.Duration connectTimeout) {
    Cluster config =
        Cluster.newBuilder()
            .setName(name)
            .setType(Cluster.DiscoveryType.STATIC)
            .setConnectTimeout(Durations.fromMillis(connectTimeout.toMillis()))
            .build();
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .setClusterName(name)
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(
                        LbEndpoint.newBuilder()
                            .setEndpoint(
                                io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                    .setAddress(
                                        io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                                            .setSocketAddress(
                                                io.envoyproxy.envoy.config.core.v3.SocketAddress
                                                    .newBuilder()
                                                    .setAddress(address.getHostString())
                                                    .setPortValue(address.getPort()))))))
            .build();
    return of(config, endpoints, System::nanoTime);
  }

  /**
   * One host of an {@code ORIGINAL_DST} cluster: the cluster's settings (its TLS, its timeouts)
   * with the one host a connection or request was going to.
   */
  public static UpstreamCluster originalDestination(Cluster config, InetSocketAddress destination) {
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .setClusterName(config.getName())
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(
                        LbEndpoint.newBuilder()
                            .setEndpoint(
                                io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                    .setAddress(
                                        io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                                            .setSocketAddress(
                                                io.envoyproxy.envoy.config.core.v3.SocketAddress
                                                    .newBuilder()
                                                    .setAddress(destination.getHostString())
                                                    .setPortValue(destination.getPort()))))))
            .build();
    return of(config, endpoints, System::nanoTime);
  }

  /** A cluster with fixed endpoints (the inbound side's local application, tests). */
  public static UpstreamCluster of(
      Cluster config, ClusterLoadAssignment endpoints, LongSupplier nanoTime) {
    UpstreamCluster cluster =
        new UpstreamCluster(config.getName(), nanoTime, RandomGenerator.getDefault());
    cluster.update(config, endpoints);
    return cluster;
  }

  /** Applies new cluster settings and endpoints, keeping each surviving host's state. */
  synchronized void update(Cluster config, ClusterLoadAssignment assignment) {
    if (!config.equals(this.config)) {
      Cluster previous = this.config;
      this.derived = Derived.of(config);
      this.config = config;
      if (previous == null
          || !previous.getOutlierDetection().equals(config.getOutlierDetection())
          || previous.hasOutlierDetection() != config.hasOutlierDetection()) {
        detector =
            new OutlierDetector(
                config.getOutlierDetection(),
                config.hasOutlierDetection(),
                nanoTime,
                () -> this.hosts);
      }
      if (previous == null || !previous.getCircuitBreakers().equals(config.getCircuitBreakers())) {
        breaker = new CircuitBreaker(config.getCircuitBreakers());
      }
    }
    ClusterLoadAssignment endpoints =
        assignment == null ? ClusterLoadAssignment.getDefaultInstance() : assignment;
    overprovisioning =
        endpoints.getPolicy().hasOverprovisioningFactor()
            ? endpoints.getPolicy().getOverprovisioningFactor().getValue()
            : 140;
    Map<InetSocketAddress, UpstreamHost> kept = new HashMap<>();
    TreeMap<Integer, List<Group>> byPriority = new TreeMap<>();
    List<UpstreamHost> all = new ArrayList<>();
    for (LocalityLbEndpoints group : endpoints.getEndpointsList()) {
      List<UpstreamHost> members = new ArrayList<>();
      for (LbEndpoint lb : group.getLbEndpointsList()) {
        var socket = lb.getEndpoint().getAddress().getSocketAddress();
        InetSocketAddress address = address(socket.getAddress(), socket.getPortValue());
        if (kept.containsKey(address)) {
          continue; // one host per address, as Envoy does
        }
        int weight = lb.hasLoadBalancingWeight() ? lb.getLoadBalancingWeight().getValue() : 1;
        HealthStatus health = lb.getHealthStatus();
        UpstreamHost host = hostsByAddress.get(address);
        if (host == null) {
          host =
              new UpstreamHost(
                  address, group.getLocality(), group.getPriority(), weight, health, detector);
        } else {
          host.update(group.getLocality(), group.getPriority(), weight, health);
          host.detector = detector;
        }
        kept.put(address, host);
        members.add(host);
        all.add(host);
      }
      int weight = group.hasLoadBalancingWeight() ? group.getLoadBalancingWeight().getValue() : 0;
      byPriority
          .computeIfAbsent(group.getPriority(), p -> new ArrayList<>())
          .add(new Group(group.getLocality(), weight, List.copyOf(members)));
    }
    hostsByAddress.keySet().retainAll(kept.keySet());
    hostsByAddress.putAll(kept);
    List<Level> newLevels = new ArrayList<>();
    byPriority.forEach(
        (priority, groups) -> {
          List<UpstreamHost> members = new ArrayList<>();
          groups.forEach(g -> members.addAll(g.hosts()));
          newLevels.add(
              new Level(priority, List.copyOf(groups), members.size(), hashTable(members)));
        });
    levels = List.copyOf(newLevels);
    hosts = List.copyOf(all);
  }

  /** The level's consistent-hash table, when the cluster's policy hashes. */
  private HashTable hashTable(List<UpstreamHost> members) {
    Cluster c = config;
    return switch (c.getLbPolicy()) {
      case RING_HASH -> {
        var ring = c.getRingHashLbConfig();
        long min =
            ring.hasMinimumRingSize()
                ? ring.getMinimumRingSize().getValue()
                : HashTable.DEFAULT_MIN_RING;
        long max =
            ring.hasMaximumRingSize()
                ? ring.getMaximumRingSize().getValue()
                : HashTable.DEFAULT_MAX_RING;
        yield HashTable.ring(members, Math.max(1, min), Math.max(1, max));
      }
      case MAGLEV -> {
        long size =
            c.getMaglevLbConfig().hasTableSize()
                ? c.getMaglevLbConfig().getTableSize().getValue()
                : HashTable.DEFAULT_MAGLEV_SIZE;
        yield HashTable.maglev(members, (int) size);
      }
      default -> null;
    };
  }

  /** Whether the cluster picks hosts by a request's hash (RING_HASH, MAGLEV). */
  public boolean hashes() {
    Cluster.LbPolicy policy = config.getLbPolicy();
    return policy == Cluster.LbPolicy.RING_HASH || policy == Cluster.LbPolicy.MAGLEV;
  }

  private static InetSocketAddress address(String host, int port) {
    // Literals resolve without a lookup; names are left for the connecting bootstrap to resolve.
    if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
      return new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), port);
    }
    return InetSocketAddress.createUnresolved(host, port);
  }

  public String name() {
    return name;
  }

  /** The cluster as CDS sent it. */
  public Cluster config() {
    return config;
  }

  public CircuitBreaker circuitBreaker() {
    return breaker;
  }

  /** Every host, in EDS order. */
  public List<UpstreamHost> hosts() {
    return hosts;
  }

  public long connectTimeoutMillis() {
    return derived.connectTimeout();
  }

  /** The protocol to speak upstream: HTTP/2 when the cluster's protocol options say so. */
  public Protocol protocol() {
    return derived.protocol();
  }

  private static Protocol protocol(Cluster c) {
    if (c.hasHttp2ProtocolOptions()) {
      return Protocol.HTTP2;
    }
    var options = c.getTypedExtensionProtocolOptionsMap().get(HTTP_OPTIONS_KEY);
    if (options != null) {
      try {
        HttpProtocolOptions http = options.unpack(HttpProtocolOptions.class);
        if (http.hasExplicitHttpConfig()
            && http.getExplicitHttpConfig().hasHttp2ProtocolOptions()) {
          return Protocol.HTTP2;
        }
      } catch (InvalidProtocolBufferException e) {
        return Protocol.HTTP1; // checked when the cluster was accepted
      }
    }
    return Protocol.HTTP1;
  }

  /** The TLS the cluster's transport socket asks for, if any. */
  public Optional<UpstreamTlsContext> tls() {
    return derived.tls();
  }

  private static Optional<UpstreamTlsContext> tls(Cluster c) {
    if (!c.hasTransportSocket()) {
      return Optional.empty();
    }
    TransportSocket socket = c.getTransportSocket();
    if (!socket.getTypedConfig().is(UpstreamTlsContext.class)) {
      return Optional.empty();
    }
    try {
      return Optional.of(socket.getTypedConfig().unpack(UpstreamTlsContext.class));
    } catch (InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether connections carry the mesh's mutual TLS to a peer sidecar: TLS, and not TLS the proxy
   * originates to a server outside the mesh ({@link dev.fedmesh.proxy.tls.TlsOrigination}). Only
   * such peers get the caller's workload metadata and count as mutual TLS in telemetry.
   */
  public boolean mutualTls() {
    return derived.mutualTls();
  }

  /** Chooses a host for a new request; {@code exclude} are hosts this request already tried. */
  public Optional<UpstreamHost> pick(Set<UpstreamHost> exclude) {
    return pick(exclude, 0, false);
  }

  /**
   * Chooses a host for a new request. A cluster that balances by hash (RING_HASH, MAGLEV) uses
   * {@code hash} to choose the priority level (as Envoy does, by {@code hash % 100} against the
   * levels' loads) and the host within it; a request without a hash gets a random one. Other
   * policies ignore the hash.
   *
   * @param exclude hosts this request already tried
   * @param hashed whether the request has a hash key ({@code hash} is ignored when not)
   */
  public Optional<UpstreamHost> pick(Set<UpstreamHost> exclude, long hash, boolean hashed) {
    List<Level> current = levels;
    boolean hashing = hashes();
    long h = hashing ? (hashed ? hash : random.nextLong()) : 0;
    if (current.isEmpty()) {
      return Optional.empty();
    }
    int[] health = new int[current.size()];
    int total = 0;
    for (int i = 0; i < current.size(); i++) {
      Level level = current.get(i);
      int healthy = 0;
      for (Group group : level.groups()) {
        for (UpstreamHost host : group.hosts()) {
          if (available(host, exclude)) {
            healthy++;
          }
        }
      }
      health[i] =
          level.hostCount() == 0
              ? 0
              : (int) Math.min(100, (long) overprovisioning * healthy / level.hostCount());
      total += health[i];
    }
    int panicThreshold = panicThreshold();
    if (total == 0 || Math.min(100, total) < panicThreshold) {
      return panic(current, exclude, h);
    }
    // Spill by health: each level takes what its health allows of what is left; when the total
    // is under 100% the loads are scaled up so that they still add up to 100%.
    double scale = total >= 100 ? 1.0 : 100.0 / total;
    double roll = hashing ? Long.remainderUnsigned(h, 100) : random.nextDouble() * 100.0;
    double remaining = 100.0;
    for (int i = 0; i < current.size() && remaining > 0; i++) {
      double load = Math.min(remaining, health[i] * scale);
      remaining -= load;
      if (roll < load || remaining <= 1e-9) {
        Optional<UpstreamHost> host = pickInLevel(current.get(i), exclude, false, h);
        if (host.isPresent()) {
          return host;
        }
      }
      roll -= load;
    }
    return panic(current, exclude, h);
  }

  private int panicThreshold() {
    Cluster c = config;
    if (c.hasCommonLbConfig() && c.getCommonLbConfig().hasHealthyPanicThreshold()) {
      return (int) c.getCommonLbConfig().getHealthyPanicThreshold().getValue();
    }
    return 50;
  }

  private static boolean available(UpstreamHost host, Set<UpstreamHost> exclude) {
    return host.healthyByEds() && !exclude.contains(host) && !host.ejected();
  }

  /** Too little health: the first level with any host not yet tried takes everything. */
  private Optional<UpstreamHost> panic(List<Level> current, Set<UpstreamHost> exclude, long hash) {
    for (Level level : current) {
      Optional<UpstreamHost> host = pickInLevel(level, exclude, true, hash);
      if (host.isPresent()) {
        return host;
      }
    }
    // Every host was tried: reuse one rather than fail without trying (Envoy does the same).
    return current.isEmpty() ? Optional.empty() : pickInLevel(current.get(0), Set.of(), true, hash);
  }

  private Optional<UpstreamHost> pickInLevel(
      Level level, Set<UpstreamHost> exclude, boolean panic, long hash) {
    if (level.hashTable() != null) {
      // Envoy's hashing balancers weigh hosts, not localities, within the level.
      return Optional.ofNullable(level.hashTable().choose(hash, exclude, panic));
    }
    List<UpstreamHost> candidates = new ArrayList<>();
    if (level.localityWeighted()) {
      Group group = pickLocality(level, exclude, panic);
      if (group != null) {
        collect(group.hosts(), exclude, panic, candidates);
      }
    }
    if (candidates.isEmpty()) {
      for (Group group : level.groups()) {
        collect(group.hosts(), exclude, panic, candidates);
      }
    }
    if (candidates.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(choose(candidates));
  }

  private static void collect(
      List<UpstreamHost> hosts, Set<UpstreamHost> exclude, boolean panic, List<UpstreamHost> out) {
    for (UpstreamHost host : hosts) {
      if (panic ? !exclude.contains(host) : available(host, exclude)) {
        out.add(host);
      }
    }
  }

  private Group pickLocality(Level level, Set<UpstreamHost> exclude, boolean panic) {
    double[] effective = new double[level.groups().size()];
    double sum = 0;
    for (int i = 0; i < effective.length; i++) {
      Group group = level.groups().get(i);
      if (group.hosts().isEmpty()) {
        continue;
      }
      long healthy =
          group.hosts().stream()
              .filter(h -> panic ? !exclude.contains(h) : available(h, exclude))
              .count();
      double ratio = Math.min(1.0, overprovisioning / 100.0 * healthy / group.hosts().size());
      effective[i] = group.weight() * ratio;
      sum += effective[i];
    }
    if (sum <= 0) {
      return null;
    }
    double roll = random.nextDouble() * sum;
    for (int i = 0; i < effective.length; i++) {
      roll -= effective[i];
      if (roll < 0) {
        return level.groups().get(i);
      }
    }
    return null;
  }

  private UpstreamHost choose(List<UpstreamHost> candidates) {
    if (candidates.size() == 1) {
      return candidates.get(0);
    }
    switch (config.getLbPolicy()) {
      case LEAST_REQUEST -> {
        int choices =
            config.hasLeastRequestLbConfig() && config.getLeastRequestLbConfig().hasChoiceCount()
                ? Math.max(2, config.getLeastRequestLbConfig().getChoiceCount().getValue())
                : 2;
        UpstreamHost best = null;
        for (int i = 0; i < choices; i++) {
          UpstreamHost next = candidates.get(random.nextInt(candidates.size()));
          if (best == null
              || next.activeRequests() * (long) best.weight()
                  < best.activeRequests() * (long) next.weight()) {
            best = next;
          }
        }
        return best;
      }
      case RANDOM -> {
        return candidates.get(random.nextInt(candidates.size()));
      }
      default -> {
        // Weighted round robin: walk the cumulative weights with a shared counter.
        long totalWeight = 0;
        for (UpstreamHost host : candidates) {
          totalWeight += host.weight();
        }
        long slot = Math.floorMod(roundRobin.getAndIncrement(), totalWeight);
        for (UpstreamHost host : candidates) {
          slot -= host.weight();
          if (slot < 0) {
            return host;
          }
        }
        return candidates.get(candidates.size() - 1);
      }
    }
  }

  /** Every host's state, for the admin page. */
  public Collection<UpstreamHost> snapshot() {
    return hosts;
  }
}
