package dev.fedmesh.proxy.tls;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidRotator;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.ca.CaClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The proxy's certificate from its cluster's CA: the key is made here and never leaves, a CSR goes
 * to the CA with the workload's token, and the certificate is renewed at half its life with a new
 * key, while the current one keeps being served. New handshakes pick up a renewed certificate; open
 * connections are not disturbed.
 */
public final class WorkloadCertificates implements AutoCloseable {
  private final ManagedChannel channel;
  private final SvidRotator rotator;
  private final ProxyIdentity identity;
  private final AtomicLong issued = new AtomicLong();

  private WorkloadCertificates(
      ManagedChannel channel, SvidRotator rotator, Supplier<TrustBundleSet> bundles) {
    this.channel = channel;
    this.rotator = rotator;
    this.identity =
        new ProxyIdentity(rotator::current, SvidVerifier.of(bundles, Clock.systemUTC()));
    rotator.addListener(credential -> issued.incrementAndGet());
  }

  /**
   * Starts asking {@code caAddress} ("host:port") for certificates living {@code ttl} ({@link
   * Duration#ZERO} for the CA's default). The connection is TLS: the CA must present the cluster
   * CA's identity under {@code bundles}, so the workload's token goes to no one else.
   */
  public static WorkloadCertificates start(
      String caAddress,
      Supplier<String> token,
      Supplier<TrustBundleSet> bundles,
      Duration ttl,
      ScheduledExecutorService scheduler) {
    requireNonNull(caAddress, "caAddress");
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(caAddress)
            .sslContext(
                ControlPlaneTls.client(
                    SvidVerifier.of(bundles, Clock.systemUTC()), ControlPlaneTls.anyCa()))
            .build();
    SvidRotator rotator =
        SvidRotator.builder(CaClient.of(channel, token), scheduler).ttl(ttl).build();
    WorkloadCertificates certificates = new WorkloadCertificates(channel, rotator, bundles);
    rotator.start();
    return certificates;
  }

  public ProxyIdentity identity() {
    return identity;
  }

  public Optional<SvidCredential> current() {
    return rotator.current();
  }

  /**
   * Runs {@code action} once, on the rotation scheduler, when the first certificate arrives (at
   * once if one is already held).
   */
  public void onFirstCertificate(Runnable action) {
    java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
    Runnable once =
        () -> {
          if (ran.compareAndSet(false, true)) {
            action.run();
          }
        };
    rotator.addListener(credential -> once.run());
    if (rotator.current().isPresent()) {
      once.run();
    }
  }

  /** Certificates received since start, the first included. */
  public long issued() {
    return issued.get();
  }

  @Override
  public void close() throws InterruptedException {
    rotator.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
