package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterName;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/**
 * The documented root rotation, with two workloads on two clusters talking mutual TLS after every
 * step: (1) add the new root to every bundle, (2) re-issue each cluster's intermediate under the
 * new root, one cluster at a time, workloads rotating onto the new chains, (3) retire the old root.
 * Each workload's TLS context is built once and follows its bundle and certificate as they change.
 */
class RootRotationIT {
  private final RootCa oldRoot = TestPki.root();
  private final ClusterCa eastOld = TestPki.cluster(oldRoot, "east");
  private final ClusterCa westOld = TestPki.cluster(oldRoot, "west");

  private final Workload cart = new Workload(eastOld, "shop", "cart");
  private final Workload payments = new Workload(westOld, "pay", "api");

  @Test
  void workloadsOnOldAndNewChainsTalkThroughoutARootRotation() throws Exception {
    assertTalk(cart, payments);

    RootCa newRoot = TestPki.root();
    // Before step 1 nobody trusts the new root: a workload on it would be refused.
    ClusterCa westEarly =
        newRoot.issueIntermediate(IntermediateSpec.of(ClusterName.of("west")), TestPki.CLOCK);
    Workload early = new Workload(westEarly, "pay", "early");
    assertThat(TlsExchange.run(early.tls, cart.tls).succeeded()).isFalse();

    // Step 1: distribute a bundle holding both roots.
    TrustBundle overlap =
        TrustBundle.of(TestPki.DOMAIN, oldRoot.certificate(), newRoot.certificate());
    cart.trust(overlap);
    payments.trust(overlap);
    assertTalk(cart, payments);

    // Step 2a: west's intermediate is re-issued under the new root; its workload rotates.
    ClusterCa westNew =
        newRoot
            .issueIntermediate(IntermediateSpec.of(ClusterName.of("west")), TestPki.CLOCK)
            .withRoots(overlap.roots());
    payments.rotate(westNew);
    assertThat(payments.current.get().svid().chain().get(1)).isEqualTo(westNew.certificate());
    assertTalk(cart, payments); // old chain <-> new chain, both directions

    // Step 2b: then east's.
    ClusterCa eastNew =
        newRoot
            .issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), TestPki.CLOCK)
            .withRoots(overlap.roots());
    Workload straggler = new Workload(eastOld, "shop", "straggler"); // not rotated yet
    straggler.trust(overlap);
    cart.rotate(eastNew);
    assertTalk(cart, payments);
    assertTalk(straggler, payments);

    // Step 3: retire the old root once every workload is on a new chain.
    TrustBundle retired = overlap.withoutRoot(oldRoot.certificate());
    cart.trust(retired);
    payments.trust(retired);
    assertTalk(cart, payments);

    // A certificate still on the old chain is now refused, as client and as server.
    TlsExchange.Result asClient = TlsExchange.run(payments.tls, straggler.tls);
    assertThat(asClient.serverSawClient()).isEmpty();
    assertThat(asClient.serverError()).hasMessageContaining("does not verify to a root");
    TlsExchange.Result asServer = TlsExchange.run(straggler.tls, cart.tls);
    assertThat(asServer.clientSawServer()).isEmpty();
  }

  private static void assertTalk(Workload a, Workload b) throws Exception {
    TlsExchange.Result ab = TlsExchange.run(b.tls, a.tls);
    assertThat(ab.serverSawClient()).contains(a.id());
    assertThat(ab.clientSawServer()).contains(b.id());
    TlsExchange.Result ba = TlsExchange.run(a.tls, b.tls);
    assertThat(ba.serverSawClient()).contains(b.id());
    assertThat(ba.clientSawServer()).contains(a.id());
  }

  /** A workload whose certificate and bundle change under a TLS context built once. */
  private static final class Workload {
    private final String namespace;
    private final String serviceAccount;
    final AtomicReference<SvidCredential> current = new AtomicReference<>();
    final AtomicReference<TrustBundleSet> bundles = new AtomicReference<>();
    final SSLContext tls;

    Workload(ClusterCa ca, String namespace, String serviceAccount) {
      this.namespace = namespace;
      this.serviceAccount = serviceAccount;
      bundles.set(TrustBundleSet.of(ca.trustBundle()));
      rotate(ca);
      tls =
          SpiffeTls.sslContext(
              () -> Optional.ofNullable(current.get()),
              SvidVerifier.of(bundles::get, TestPki.CLOCK),
              id -> true);
    }

    void rotate(ClusterCa ca) {
      current.set(
          TestPki.workload(
              TestPki.issuer(ca),
              bundles.get().bundle(TestPki.DOMAIN).orElseThrow(),
              namespace,
              serviceAccount));
    }

    void trust(TrustBundle bundle) {
      bundles.set(TrustBundleSet.of(List.of(bundle)));
    }

    String id() {
      return current.get().svid().id().uri();
    }
  }
}
