package dev.fedmesh.lab;

import dev.fedmesh.agent.ca.ClusterCaServer;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.ca.WorkloadTokens;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * One cluster's CA on the cluster's own loopback address: an intermediate of the shared root,
 * signing the CSRs of workloads that present a token for their namespace and service account (the
 * lab's stand-in for a projected service-account token).
 */
final class LoopbackCa implements AutoCloseable {
  private final WorkloadTokens tokens;
  private final ClusterCaServer server;
  private final String host;

  private LoopbackCa(WorkloadTokens tokens, ClusterCaServer server, String host) {
    this.tokens = tokens;
    this.server = server;
    this.host = host;
  }

  /** Issues {@code cluster}'s intermediate under {@code root} and serves it on {@code host}. */
  static LoopbackCa start(RootCa root, ClusterName cluster, String host) {
    Clock clock = Clock.systemUTC();
    ClusterCa ca = root.issueIntermediate(IntermediateSpec.of(cluster), clock);
    WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), clock);
    ClusterCaServer server =
        ClusterCaServer.start(
            SvidIssuer.of(ca, SvidPolicy.of(), clock),
            new InetSocketAddress(host, 0),
            tokens.authenticator());
    return new LoopbackCa(tokens, server, host);
  }

  /** The CA's gRPC target, {@code host:port}. */
  String address() {
    return host + ":" + server.port();
  }

  /** A fresh token for the workload {@code namespace/serviceAccount} at every call. */
  Supplier<String> token(String namespace, String serviceAccount) {
    CallerIdentity caller = CallerIdentity.of(namespace, serviceAccount);
    return () -> tokens.issue(caller, Duration.ofMinutes(10));
  }

  @Override
  public void close() {
    server.close();
  }
}
