package dev.fedmesh.controller;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * How a controller replica runs.
 *
 * @param etcdEndpoints etcd client URLs
 * @param xdsAddress where ADS and the federation service listen (plaintext; Istio's 15010)
 * @param adminAddress where the admin API and metrics listen (Istio's 15014)
 * @param replicaId this replica's name, unique among replicas
 * @param sessionTtl how long a cluster's session outlives its agent's last keep-alive
 * @param debounceQuiet how long the model waits for a burst of changes to end before pushing
 * @param debounceMax the longest a change waits for a push, however busy the store is
 */
public record ControllerConfig(
    List<String> etcdEndpoints,
    InetSocketAddress xdsAddress,
    InetSocketAddress adminAddress,
    String replicaId,
    Duration sessionTtl,
    Duration debounceQuiet,
    Duration debounceMax) {

  public ControllerConfig {
    etcdEndpoints = List.copyOf(etcdEndpoints);
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(adminAddress, "adminAddress");
    requireNonNull(replicaId, "replicaId");
    requireNonNull(sessionTtl, "sessionTtl");
    requireNonNull(debounceQuiet, "debounceQuiet");
    requireNonNull(debounceMax, "debounceMax");
    if (etcdEndpoints.isEmpty()) {
      throw new IllegalArgumentException("etcd: none given (expected: at least one client URL)");
    }
    if (replicaId.isBlank()) {
      throw new IllegalArgumentException("replicaId: '' (expected: a name unique among replicas)");
    }
  }

  /** Defaults for everything but where etcd is and where to listen. */
  public static ControllerConfig of(
      List<String> etcdEndpoints, InetSocketAddress xdsAddress, InetSocketAddress adminAddress) {
    return new ControllerConfig(
        etcdEndpoints,
        xdsAddress,
        adminAddress,
        "controller-" + ProcessHandle.current().pid(),
        Duration.ofSeconds(10),
        Duration.ofMillis(20),
        Duration.ofMillis(200));
  }

  public ControllerConfig withReplicaId(String replicaId) {
    return new ControllerConfig(
        etcdEndpoints, xdsAddress, adminAddress, replicaId, sessionTtl, debounceQuiet, debounceMax);
  }
}
