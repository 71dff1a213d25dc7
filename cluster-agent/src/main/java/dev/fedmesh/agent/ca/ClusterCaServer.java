package dev.fedmesh.agent.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidRotator;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.ca.CaService;
import dev.fedmesh.trust.ca.CallerAuthenticator;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The cluster's CA, hosted by its agent: {@code fedmesh.ca.v1.CertificateService} signing with the
 * cluster's own intermediate, so workloads keep getting certificates while the global controller is
 * away. Who may have which identity is decided by the {@link CallerAuthenticator} (Kubernetes
 * TokenReview in a cluster); the CA, not the request, sets the SPIFFE ID.
 */
public final class ClusterCaServer implements AutoCloseable {
  private final Server server;
  private final SvidRotator identity;
  private final ScheduledExecutorService scheduler;

  private ClusterCaServer(Server server, SvidRotator identity, ScheduledExecutorService scheduler) {
    this.server = server;
    this.identity = identity;
    this.scheduler = scheduler;
  }

  /** Serves the CA installed in {@code caDir} (Istio's cacerts layout) on {@code address}. */
  public static ClusterCaServer start(
      Path caDir, InetSocketAddress address, CallerAuthenticator authenticator) {
    requireNonNull(caDir, "caDir");
    ClusterCa ca = CaFiles.readClusterCa(caDir, Optional.empty(), Clock.systemUTC());
    return start(SvidIssuer.of(ca, SvidPolicy.of(), Clock.systemUTC()), address, authenticator);
  }

  /**
   * Serves {@code issuer} on {@code address} over TLS, as {@code
   * spiffe://<td>/ns/fedmesh-system/sa/fedmesh-ca} with a certificate it issues itself: workload
   * tokens never travel in plaintext, and a workload knows it talks to its CA.
   */
  public static ClusterCaServer start(
      SvidIssuer issuer, InetSocketAddress address, CallerAuthenticator authenticator) {
    requireNonNull(address, "address");
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "cluster-ca-identity");
              thread.setDaemon(true);
              return thread;
            });
    SvidRotator identity = null;
    try {
      identity =
          ControlPlaneTls.selfIssued(
              issuer, CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-ca"), scheduler);
      SvidRotator current = identity;
      Server server =
          NettyServerBuilder.forAddress(address)
              .sslContext(
                  ControlPlaneTls.server(
                      current::current,
                      SvidVerifier.of(TrustBundleSet.of(issuer.trustBundle()), Clock.systemUTC())))
              .addService(CaService.of(issuer, authenticator))
              .build()
              .start();
      return new ClusterCaServer(server, identity, scheduler);
    } catch (IOException | RuntimeException e) {
      if (identity != null) {
        identity.close();
      }
      scheduler.shutdownNow();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("cannot serve the cluster CA on " + address, io);
      }
      throw (RuntimeException) e;
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    identity.close();
    scheduler.shutdownNow();
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
