package dev.fedmesh.proxy.upstream;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hosts of a {@code STRICT_DNS} or {@code LOGICAL_DNS} cluster, found as Envoy finds them: the
 * names of the cluster's load assignment are resolved at once and again every {@code
 * dns_refresh_rate} (5 s unless set; after a failure, {@code dns_failure_refresh_rate}'s base
 * interval if set), filtered by {@code dns_lookup_family}. For STRICT_DNS every address is a host,
 * with the endpoint's port, weight, health and locality; for LOGICAL_DNS the first address is the
 * one host. IP literals need no lookup. A name that fails to resolve keeps the addresses it had; a
 * name that never resolved adds no host, so until the first answer the cluster has none (Envoy's
 * warming), and requests to it are answered 503.
 *
 * <p>Lookups run on the scheduler, never on an event loop. Results are applied under {@code lock},
 * the cluster manager's, which also guards {@link #stop}: a refresh that finishes after its config
 * was replaced changes nothing.
 */
final class DnsEndpoints {
  private static final Logger log = LoggerFactory.getLogger(DnsEndpoints.class);
  private static final long DEFAULT_REFRESH_MILLIS = 5_000;

  private final Cluster config;
  private final UpstreamCluster target;
  private final HostResolver resolver;
  private final ScheduledExecutorService scheduler;
  private final Object lock;
  private final Set<String> names = new LinkedHashSet<>();

  // Guarded by lock.
  private final Map<String, List<InetAddress>> resolved;
  private boolean stopped;
  private ScheduledFuture<?> next;

  /**
   * @param previous what an earlier config's lookups found, by name: its hosts stay until the new
   *     lookups answer
   */
  DnsEndpoints(
      Cluster config,
      UpstreamCluster target,
      HostResolver resolver,
      ScheduledExecutorService scheduler,
      Object lock,
      Map<String, List<InetAddress>> previous) {
    this.config = requireNonNull(config, "config");
    this.target = requireNonNull(target, "target");
    this.resolver = requireNonNull(resolver, "resolver");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.lock = requireNonNull(lock, "lock");
    for (LocalityLbEndpoints group : config.getLoadAssignment().getEndpointsList()) {
      for (LbEndpoint endpoint : group.getLbEndpointsList()) {
        String address = endpoint.getEndpoint().getAddress().getSocketAddress().getAddress();
        if (!isLiteral(address)) {
          names.add(address);
        }
      }
    }
    this.resolved = new HashMap<>(previous);
    this.resolved.keySet().retainAll(names);
  }

  static boolean isDns(Cluster cluster) {
    return cluster.getType() == Cluster.DiscoveryType.STRICT_DNS
        || cluster.getType() == Cluster.DiscoveryType.LOGICAL_DNS;
  }

  Cluster config() {
    return config;
  }

  /** Applies what is known now and looks the names up at once; call under {@code lock}. */
  void start() {
    target.update(config, assignment());
    if (!names.isEmpty()) {
      next = scheduler.schedule(this::refresh, 0, TimeUnit.MILLISECONDS);
    }
  }

  /** No more lookups, and none still running changes the cluster; call under {@code lock}. */
  void stop() {
    stopped = true;
    if (next != null) {
      next.cancel(false);
    }
  }

  /** What the lookups found so far, by name; call under {@code lock}. */
  Map<String, List<InetAddress>> resolved() {
    return Map.copyOf(resolved);
  }

  private void refresh() {
    Map<String, List<InetAddress>> fresh = new HashMap<>();
    boolean failed = false;
    for (String name : names) {
      try {
        fresh.put(name, family(resolver.resolve(name)));
      } catch (UnknownHostException | RuntimeException e) {
        failed = true;
        log.debug("cluster {}: {} did not resolve: {}", config.getName(), name, e.toString());
      }
    }
    synchronized (lock) {
      if (stopped) {
        return;
      }
      resolved.putAll(fresh);
      target.update(config, assignment());
      next = scheduler.schedule(this::refresh, delayMillis(failed), TimeUnit.MILLISECONDS);
    }
  }

  private long delayMillis(boolean failed) {
    if (failed && config.hasDnsFailureRefreshRate()) {
      return Math.max(1, Durations.toMillis(config.getDnsFailureRefreshRate().getBaseInterval()));
    }
    return config.hasDnsRefreshRate()
        ? Math.max(1, Durations.toMillis(config.getDnsRefreshRate()))
        : DEFAULT_REFRESH_MILLIS;
  }

  /** The addresses of the family the cluster asks for, in the resolver's order. */
  private List<InetAddress> family(List<InetAddress> addresses) {
    List<InetAddress> v4 = addresses.stream().filter(a -> a instanceof Inet4Address).toList();
    List<InetAddress> v6 = addresses.stream().filter(a -> a instanceof Inet6Address).toList();
    return switch (config.getDnsLookupFamily()) {
      case V4_ONLY -> v4;
      case V6_ONLY -> v6;
      case V4_PREFERRED -> v4.isEmpty() ? v6 : v4;
      case ALL -> addresses;
      default -> v6.isEmpty() ? v4 : v6; // AUTO, Envoy's default: IPv6 first
    };
  }

  /** The load assignment with every name replaced by the addresses it resolved to. */
  private ClusterLoadAssignment assignment() {
    boolean logical = config.getType() == Cluster.DiscoveryType.LOGICAL_DNS;
    ClusterLoadAssignment written = config.getLoadAssignment();
    ClusterLoadAssignment.Builder assignment = written.toBuilder().clearEndpoints();
    for (LocalityLbEndpoints group : written.getEndpointsList()) {
      LocalityLbEndpoints.Builder hosts = group.toBuilder().clearLbEndpoints();
      for (LbEndpoint endpoint : group.getLbEndpointsList()) {
        SocketAddress socket = endpoint.getEndpoint().getAddress().getSocketAddress();
        if (isLiteral(socket.getAddress())) {
          hosts.addLbEndpoints(endpoint);
          continue;
        }
        List<InetAddress> addresses = resolved.getOrDefault(socket.getAddress(), List.of());
        if (logical && !addresses.isEmpty()) {
          addresses = addresses.subList(0, 1);
        }
        for (InetAddress address : addresses) {
          LbEndpoint.Builder host = endpoint.toBuilder();
          host.getEndpointBuilder()
              .setAddress(
                  Address.newBuilder()
                      .setSocketAddress(
                          socket.toBuilder().setAddress(address.getHostAddress()).build()))
              .setHostname(socket.getAddress());
          hosts.addLbEndpoints(host);
        }
      }
      assignment.addEndpoints(hosts);
    }
    return assignment.build();
  }

  private static boolean isLiteral(String address) {
    return NetUtil.isValidIpV4Address(address) || NetUtil.isValidIpV6Address(address);
  }

  /** The names this cluster looks up, for the admin page and tests. */
  List<String> names() {
    return new ArrayList<>(names);
  }
}
