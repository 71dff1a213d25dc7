package dev.fedmesh.proxy.http;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.proxy.tls.WorkloadCertificates;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.SvidRotator;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.ca.CaService;
import dev.fedmesh.trust.ca.WorkloadTokens;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A shared root, one cluster CA serving CSRs on loopback, and workloads that get certificates. */
final class MeshPki implements AutoCloseable {
  static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");

  final RootCa root = RootCa.generate(RootCaSpec.of(DOMAIN), Clock.systemUTC());
  final ClusterCa ca =
      root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), Clock.systemUTC());
  final TrustBundleSet bundles = TrustBundleSet.of(ca.trustBundle());
  private final WorkloadTokens tokens =
      WorkloadTokens.of(WorkloadTokens.newKey(), Clock.systemUTC());
  private final Server server;
  private final SvidRotator caIdentity;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  /** A CA whose certificates live {@code ttl} unless asked otherwise, not backdated. */
  MeshPki(Duration ttl) throws IOException {
    SvidIssuer issuer =
        SvidIssuer.of(
            ca, new SvidPolicy(ttl, Duration.ofHours(24), Duration.ZERO), Clock.systemUTC());
    caIdentity =
        ControlPlaneTls.selfIssued(
            issuer, CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-ca"), scheduler);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .sslContext(
                ControlPlaneTls.server(
                    caIdentity::current, SvidVerifier.of(bundles, Clock.systemUTC())))
            .addService(CaService.of(issuer, tokens.authenticator()))
            .build()
            .start();
  }

  String caAddress() {
    return "127.0.0.1:" + server.getPort();
  }

  WorkloadCertificates workload(String namespace, String serviceAccount) {
    CallerIdentity caller = CallerIdentity.of(namespace, serviceAccount);
    return WorkloadCertificates.start(
        caAddress(),
        () -> tokens.issue(caller, Duration.ofMinutes(10)),
        () -> bundles,
        Duration.ZERO,
        scheduler);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    caIdentity.close();
    scheduler.shutdownNow();
    scheduler.awaitTermination(5, TimeUnit.SECONDS);
  }
}
