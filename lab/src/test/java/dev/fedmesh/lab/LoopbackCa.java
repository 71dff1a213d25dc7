package dev.fedmesh.lab;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.ca.CaService;
import dev.fedmesh.trust.ca.WorkloadTokens;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One cluster's CA on the cluster's own loopback address: an intermediate of the shared root,
 * signing the CSRs of workloads that present a token for their namespace and service account (the
 * lab's stand-in for a projected service-account token).
 */
final class LoopbackCa implements AutoCloseable {
  private final WorkloadTokens tokens;
  private final Server server;

  private LoopbackCa(WorkloadTokens tokens, Server server) {
    this.tokens = tokens;
    this.server = server;
  }

  /** Issues {@code cluster}'s intermediate under {@code root} and serves it on {@code host}. */
  static LoopbackCa start(RootCa root, ClusterName cluster, String host) {
    Clock clock = Clock.systemUTC();
    ClusterCa ca = root.issueIntermediate(IntermediateSpec.of(cluster), clock);
    WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), clock);
    try {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, 0))
              .addService(
                  CaService.of(SvidIssuer.of(ca, SvidPolicy.of(), clock), tokens.authenticator()))
              .build()
              .start();
      return new LoopbackCa(tokens, server);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve the CA of " + cluster + " on " + host, e);
    }
  }

  /** The CA's gRPC target, {@code host:port}. */
  String address() {
    InetSocketAddress bound = (InetSocketAddress) server.getListenSockets().get(0);
    return bound.getAddress().getHostAddress() + ":" + bound.getPort();
  }

  /** A fresh token for the workload {@code namespace/serviceAccount} at every call. */
  Supplier<String> token(String namespace, String serviceAccount) {
    CallerIdentity caller = CallerIdentity.of(namespace, serviceAccount);
    return () -> tokens.issue(caller, Duration.ofMinutes(10));
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
