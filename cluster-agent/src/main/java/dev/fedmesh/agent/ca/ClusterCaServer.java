package dev.fedmesh.agent.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
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
import java.util.concurrent.TimeUnit;

/**
 * The cluster's CA, hosted by its agent: {@code fedmesh.ca.v1.CertificateService} signing with the
 * cluster's own intermediate, so workloads keep getting certificates while the global controller is
 * away. Who may have which identity is decided by the {@link CallerAuthenticator} (Kubernetes
 * TokenReview in a cluster); the CA, not the request, sets the SPIFFE ID.
 */
public final class ClusterCaServer implements AutoCloseable {
  private final Server server;

  private ClusterCaServer(Server server) {
    this.server = server;
  }

  /** Serves the CA installed in {@code caDir} (Istio's cacerts layout) on {@code address}. */
  public static ClusterCaServer start(
      Path caDir, InetSocketAddress address, CallerAuthenticator authenticator) {
    requireNonNull(caDir, "caDir");
    ClusterCa ca = CaFiles.readClusterCa(caDir, Optional.empty(), Clock.systemUTC());
    return start(SvidIssuer.of(ca, SvidPolicy.of(), Clock.systemUTC()), address, authenticator);
  }

  /** Serves {@code issuer} on {@code address}. */
  public static ClusterCaServer start(
      SvidIssuer issuer, InetSocketAddress address, CallerAuthenticator authenticator) {
    try {
      Server server =
          NettyServerBuilder.forAddress(requireNonNull(address, "address"))
              .addService(CaService.of(issuer, authenticator))
              .build()
              .start();
      return new ClusterCaServer(server);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve the cluster CA on " + address, e);
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
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
