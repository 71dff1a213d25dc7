package dev.fedmesh.controller;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.controller.store.VirtualAddresses;
import dev.fedmesh.controller.xds.XdsPublisher;
import dev.fedmesh.trust.SvidFiles;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How a controller replica runs. Build one with {@link #builder}; every field but etcd and the
 * listen addresses has a default.
 *
 * @param etcdEndpoints etcd client URLs
 * @param xdsAddress where ADS and the federation service listen: over mutual TLS when {@code tls}
 *     is given (Istio's 15012), else plaintext (embedded use and tests)
 * @param adminAddress where the admin API and metrics listen (Istio's 15014)
 * @param replicaId this replica's name, unique among replicas (default {@code controller-<pid>})
 * @param sessionTtl how long a cluster's session outlives its agent's last keep-alive (10 s)
 * @param debounceQuiet how long a burst of changes must be quiet before a push (20 ms)
 * @param debounceMax the longest a change waits for a push, however busy the store is (200 ms)
 * @param livenessGrace how long a disconnected cluster's endpoints keep their priority (60 s)
 * @param livenessExpiry how long after disconnecting its endpoints stop being served (24 h)
 * @param failover the region failover order (default: none, other regions share one level)
 * @param agentTokens who may speak for which cluster; {@link AgentTokens#OPEN} lets anyone
 * @param tls the replica's SVID and the roots proxies' certificates chain to; with it ADS takes
 *     only proxies whose certificate matches their node
 * @param insecureXdsAddress an extra plaintext listener for ADS and federation, for local
 *     experiments only (Istio's 15010)
 * @param groupLimits how many proxy groups a cluster may have, and how long an idle one is kept
 * @param adminToken the bearer token the admin API's {@code /status}, {@code /proxies} and {@code
 *     /debug} require; empty leaves them open
 * @param virtualAddresses the range the mesh's virtual addresses come from, and how long a host
 *     that no longer needs its address keeps it
 */
public record ControllerConfig(
    List<String> etcdEndpoints,
    InetSocketAddress xdsAddress,
    InetSocketAddress adminAddress,
    String replicaId,
    Duration sessionTtl,
    Duration debounceQuiet,
    Duration debounceMax,
    Duration livenessGrace,
    Duration livenessExpiry,
    FailoverOrder failover,
    AgentTokens agentTokens,
    Optional<SvidFiles.Source> tls,
    Optional<InetSocketAddress> insecureXdsAddress,
    XdsPublisher.GroupLimits groupLimits,
    Optional<String> adminToken,
    VirtualAddressSettings virtualAddresses) {

  /**
   * @param range the IPv4 range (default Istio's {@code 240.240.0.0/16})
   * @param releaseGrace how long an address outlives the last need for it (default 5 minutes)
   */
  public record VirtualAddressSettings(VirtualAddresses.Range range, Duration releaseGrace) {
    public static final VirtualAddressSettings DEFAULT =
        new VirtualAddressSettings(
            VirtualAddresses.Range.parse(VirtualAddresses.DEFAULT_RANGE),
            VirtualAddresses.DEFAULT_RELEASE_GRACE);

    public VirtualAddressSettings {
      requireNonNull(range, "range");
      requireNonNull(releaseGrace, "releaseGrace");
      if (releaseGrace.isNegative()) {
        throw new IllegalArgumentException(
            "virtualAddressReleaseGrace: " + releaseGrace + " (expected: zero or more)");
      }
    }
  }

  public ControllerConfig {
    etcdEndpoints = List.copyOf(etcdEndpoints);
    requireNonNull(xdsAddress, "xdsAddress");
    requireNonNull(adminAddress, "adminAddress");
    requireNonNull(replicaId, "replicaId");
    requireNonNull(sessionTtl, "sessionTtl");
    requireNonNull(debounceQuiet, "debounceQuiet");
    requireNonNull(debounceMax, "debounceMax");
    requireNonNull(livenessGrace, "livenessGrace");
    requireNonNull(livenessExpiry, "livenessExpiry");
    requireNonNull(failover, "failover");
    requireNonNull(agentTokens, "agentTokens");
    requireNonNull(tls, "tls");
    requireNonNull(insecureXdsAddress, "insecureXdsAddress");
    requireNonNull(adminToken, "adminToken");
    requireNonNull(groupLimits, "groupLimits");
    requireNonNull(virtualAddresses, "virtualAddresses");
    if (adminToken.isPresent() && adminToken.get().length() < 16) {
      throw new IllegalArgumentException(
          "adminToken: " + adminToken.get().length() + " characters (expected: at least 16)");
    }
    if (etcdEndpoints.isEmpty()) {
      throw new IllegalArgumentException("etcd: none given (expected: at least one client URL)");
    }
    if (replicaId.isBlank()) {
      throw new IllegalArgumentException("replicaId: '' (expected: a name unique among replicas)");
    }
    if (sessionTtl.toSeconds() < 1) {
      throw new IllegalArgumentException(
          "sessionTtl: " + sessionTtl + " (expected: at least 1 second)");
    }
    if (livenessExpiry.compareTo(livenessGrace) < 0) {
      throw new IllegalArgumentException(
          "livenessExpiry: "
              + livenessExpiry
              + " (expected: >= livenessGrace "
              + livenessGrace
              + ")");
    }
  }

  public static Builder builder(
      List<String> etcdEndpoints, InetSocketAddress xdsAddress, InetSocketAddress adminAddress) {
    return new Builder(etcdEndpoints, xdsAddress, adminAddress);
  }

  /** Defaults for everything but where etcd is and where to listen. */
  public static ControllerConfig of(
      List<String> etcdEndpoints, InetSocketAddress xdsAddress, InetSocketAddress adminAddress) {
    return builder(etcdEndpoints, xdsAddress, adminAddress).build();
  }

  public ControllerConfig withReplicaId(String replicaId) {
    return toBuilder().replicaId(replicaId).build();
  }

  public Builder toBuilder() {
    return new Builder(etcdEndpoints, xdsAddress, adminAddress)
        .replicaId(replicaId)
        .sessionTtl(sessionTtl)
        .debounce(debounceQuiet, debounceMax)
        .liveness(livenessGrace, livenessExpiry)
        .failover(failover)
        .agentTokens(agentTokens)
        .tls(tls.orElse(null))
        .insecureXdsAddress(insecureXdsAddress.orElse(null))
        .groupLimits(groupLimits)
        .adminToken(adminToken.orElse(null))
        .virtualAddresses(virtualAddresses);
  }

  /** Builds a {@link ControllerConfig}. */
  public static final class Builder {
    private final List<String> etcdEndpoints;
    private final InetSocketAddress xdsAddress;
    private final InetSocketAddress adminAddress;
    private String replicaId = "controller-" + ProcessHandle.current().pid();
    private Duration sessionTtl = Duration.ofSeconds(10);
    private Duration debounceQuiet = Duration.ofMillis(20);
    private Duration debounceMax = Duration.ofMillis(200);
    private Duration livenessGrace = Duration.ofSeconds(60);
    private Duration livenessExpiry = Duration.ofHours(24);
    private FailoverOrder failover = FailoverOrder.NONE;
    private AgentTokens agentTokens = AgentTokens.OPEN;
    private SvidFiles.Source tls;
    private InetSocketAddress insecureXdsAddress;
    private String adminToken;
    private XdsPublisher.GroupLimits groupLimits = XdsPublisher.GroupLimits.DEFAULT;
    private VirtualAddressSettings virtualAddresses = VirtualAddressSettings.DEFAULT;

    private Builder(
        List<String> etcdEndpoints, InetSocketAddress xdsAddress, InetSocketAddress adminAddress) {
      this.etcdEndpoints = etcdEndpoints;
      this.xdsAddress = xdsAddress;
      this.adminAddress = adminAddress;
    }

    public Builder replicaId(String replicaId) {
      this.replicaId = replicaId;
      return this;
    }

    public Builder sessionTtl(Duration sessionTtl) {
      this.sessionTtl = sessionTtl;
      return this;
    }

    public Builder debounce(Duration quiet, Duration max) {
      this.debounceQuiet = quiet;
      this.debounceMax = max;
      return this;
    }

    public Builder liveness(Duration grace, Duration expiry) {
      this.livenessGrace = grace;
      this.livenessExpiry = expiry;
      return this;
    }

    public Builder failover(FailoverOrder failover) {
      this.failover = failover;
      return this;
    }

    public Builder agentTokens(AgentTokens agentTokens) {
      this.agentTokens = agentTokens;
      return this;
    }

    /** Serves {@code xdsAddress} over mutual TLS with this SVID; null: plaintext. */
    public Builder tls(SvidFiles.Source tls) {
      this.tls = tls;
      return this;
    }

    /** An extra plaintext listener, for local experiments; null: none. */
    public Builder insecureXdsAddress(InetSocketAddress insecureXdsAddress) {
      this.insecureXdsAddress = insecureXdsAddress;
      return this;
    }

    /** Bounds on proxy groups (default: 128 per cluster, idle ones dropped after 5 minutes). */
    public Builder groupLimits(XdsPublisher.GroupLimits groupLimits) {
      this.groupLimits = requireNonNull(groupLimits, "groupLimits");
      return this;
    }

    /** The admin API's bearer token; null leaves it open. */
    public Builder adminToken(String adminToken) {
      this.adminToken = adminToken;
      return this;
    }

    /** Where virtual addresses come from and how long they outlive their use. */
    public Builder virtualAddresses(VirtualAddressSettings virtualAddresses) {
      this.virtualAddresses = requireNonNull(virtualAddresses, "virtualAddresses");
      return this;
    }

    public ControllerConfig build() {
      return new ControllerConfig(
          etcdEndpoints,
          xdsAddress,
          adminAddress,
          replicaId,
          sessionTtl,
          debounceQuiet,
          debounceMax,
          livenessGrace,
          livenessExpiry,
          failover,
          agentTokens,
          Optional.ofNullable(tls),
          Optional.ofNullable(insecureXdsAddress),
          groupLimits,
          Optional.ofNullable(adminToken),
          virtualAddresses);
    }
  }
}
