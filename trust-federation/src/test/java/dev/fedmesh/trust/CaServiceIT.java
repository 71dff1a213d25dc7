package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.trust.ca.CaClient;
import dev.fedmesh.trust.ca.CaService;
import dev.fedmesh.trust.ca.WorkloadTokens;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clusters, each with its own CA service on a real port: workloads get their certificates over
 * gRPC with a signed token, then talk mutual TLS across the clusters.
 */
class CaServiceIT {
  private final RootCa root = TestPki.root();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopEverything() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  void workloadsCertifiedByTwoClusterCasOverGrpcTalkMutualTls() throws Exception {
    Cluster east = cluster("east");
    Cluster west = cluster("west");
    SvidRotator cart = east.workload(CallerIdentity.of("shop", "cart"));
    SvidRotator payments = west.workload(CallerIdentity.of("pay", "api"));

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> cart.current().isPresent() && payments.current().isPresent());

    assertThat(cart.current().orElseThrow().svid().chain().get(1)).isEqualTo(east.ca.certificate());
    assertThat(payments.current().orElseThrow().svid().chain().get(1))
        .isEqualTo(west.ca.certificate());
    for (SvidRotator workload : List.of(cart, payments)) {
      SvidCredential credential = workload.current().orElseThrow();
      TestPki.assertAcceptedBySpiffeLibrary(credential, east.ca.trustBundle());
      Openssl.assertAccepted(dir, List.of(root.certificate()), credential.svid());
    }

    TrustBundleSet bundles = TrustBundleSet.of(east.ca.trustBundle());
    TlsExchange.Result result = TlsExchange.run(tls(payments, bundles), tls(cart, bundles));
    assertThat(result.serverSawClient()).contains("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(result.clientSawServer()).contains("spiffe://fedmesh.local/ns/pay/sa/api");
  }

  @Test
  void aTokenFromAnotherClusterIsRefusedAndTheWorkloadKeepsTrying() throws Exception {
    Cluster east = cluster("east");
    Cluster west = cluster("west");
    SvidRotator stray = east.workload(CallerIdentity.of("shop", "cart"), west.tokens);

    await().atMost(Duration.ofSeconds(20)).until(() -> stray.consecutiveFailures() >= 1);
    assertThat(stray.current()).isEmpty();
    assertThat(stray.nextAttempt()).isPresent();
  }

  private SSLContext tls(SvidRotator workload, TrustBundleSet bundles) {
    return SpiffeTls.sslContext(
        workload::current, SvidVerifier.of(bundles, TestPki.CLOCK), id -> true);
  }

  private Cluster cluster(String name) throws Exception {
    ClusterCa ca = TestPki.cluster(root, name);
    WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), TestPki.CLOCK);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(CaService.of(TestPki.issuer(ca), tokens.authenticator()))
            .build()
            .start();
    resources.add(() -> server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
    return new Cluster(ca, tokens, server.getPort());
  }

  private final class Cluster {
    final ClusterCa ca;
    final WorkloadTokens tokens;
    final int port;

    Cluster(ClusterCa ca, WorkloadTokens tokens, int port) {
      this.ca = ca;
      this.tokens = tokens;
      this.port = port;
    }

    SvidRotator workload(CallerIdentity identity) {
      return workload(identity, tokens);
    }

    SvidRotator workload(CallerIdentity identity, WorkloadTokens tokenSource) {
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      resources.add(() -> channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
      ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
      resources.add(
          () -> {
            executor.shutdownNow();
            executor.awaitTermination(10, TimeUnit.SECONDS);
          });
      SvidRotator rotator =
          SvidRotator.builder(
                  CaClient.of(channel, () -> tokenSource.issue(identity, Duration.ofMinutes(10))),
                  executor)
              .build();
      resources.add(rotator);
      rotator.start();
      return rotator;
    }
  }
}
