package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** Workloads of two clusters, each certified by its own intermediate, talk mutual TLS. */
class MutualTlsIT {
  private final RootCa root = TestPki.root();
  private final ClusterCa east = TestPki.cluster(root, "east");
  private final ClusterCa west = TestPki.cluster(root, "west");
  private final TrustBundleSet bundles = TrustBundleSet.of(east.trustBundle());

  @Test
  void workloadsOfTwoClustersTrustEachOther() throws Exception {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    SvidCredential payments = TestPki.workload(west, "pay", "api");

    TlsExchange.Result result =
        TlsExchange.run(TlsExchange.context(payments, bundles), TlsExchange.context(cart, bundles));

    assertThat(result.serverSawClient()).contains("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(result.clientSawServer()).contains("spiffe://fedmesh.local/ns/pay/sa/api");
  }

  @Test
  void aForeignCaClaimingOurTrustDomainIsRefusedAsClient() throws Exception {
    SvidCredential payments = TestPki.workload(west, "pay", "api");
    RootCa impostorRoot = TestPki.root(); // also says spiffe://fedmesh.local
    SvidCredential impostor =
        TestPki.workload(TestPki.cluster(impostorRoot, "east"), "shop", "cart");

    TlsExchange.Result result =
        TlsExchange.run(
            TlsExchange.context(payments, bundles),
            TlsExchange.context(
                impostor,
                TrustBundleSet.of(
                    TrustBundle.of(
                        TestPki.DOMAIN, impostorRoot.certificate(), root.certificate()))));

    assertThat(result.succeeded()).isFalse();
    assertThat(result.serverSawClient()).isEmpty();
    assertThat(result.serverError())
        .isInstanceOf(SSLHandshakeException.class)
        .hasMessageContaining("does not verify to a root of the fedmesh.local trust bundle");
  }

  @Test
  void aForeignCaClaimingOurTrustDomainIsRefusedAsServer() throws Exception {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    RootCa impostorRoot = TestPki.root();
    SvidCredential impostor = TestPki.workload(TestPki.cluster(impostorRoot, "west"), "pay", "api");

    TlsExchange.Result result =
        TlsExchange.run(
            TlsExchange.context(
                impostor,
                TrustBundleSet.of(
                    TrustBundle.of(
                        TestPki.DOMAIN, impostorRoot.certificate(), root.certificate()))),
            TlsExchange.context(cart, bundles));

    assertThat(result.clientSawServer()).isEmpty();
    assertThat(result.clientError())
        .isInstanceOf(SSLHandshakeException.class)
        .hasMessageContaining("does not verify to a root of the fedmesh.local trust bundle");
  }

  @Test
  void theAuthorizerDecidesWhichPeersMayConnect() throws Exception {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    SvidCredential payments = TestPki.workload(west, "pay", "api");
    SSLContext onlyFrontend =
        SpiffeTls.sslContext(
            () -> Optional.of(payments),
            SvidVerifier.of(bundles, TestPki.CLOCK),
            id -> id.path().equals("/ns/web/sa/frontend"));

    TlsExchange.Result result = TlsExchange.run(onlyFrontend, TlsExchange.context(cart, bundles));

    assertThat(result.serverSawClient()).isEmpty();
    assertThat(result.serverError())
        .hasMessageContaining("peer: spiffe://fedmesh.local/ns/shop/sa/cart is not authorized");
  }

  @Test
  void federatedTrustDomainsTalkWhenEachHoldsTheOthersBundle() throws Exception {
    RootCa partnerRoot = TestPki.root(TrustDomain.of("partner.example"));
    ClusterCa partner = TestPki.cluster(partnerRoot, "central");
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    SvidCredential billing = TestPki.workload(partner, "billing", "api");
    TrustBundleSet both = bundles.with(partner.trustBundle());

    TlsExchange.Result federated =
        TlsExchange.run(TlsExchange.context(billing, both), TlsExchange.context(cart, both));
    assertThat(federated.serverSawClient()).contains("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(federated.clientSawServer()).contains("spiffe://partner.example/ns/billing/sa/api");

    TlsExchange.Result notFederated =
        TlsExchange.run(TlsExchange.context(billing, both), TlsExchange.context(cart, bundles));
    assertThat(notFederated.clientSawServer()).isEmpty();
    assertThat(notFederated.clientError())
        .hasMessageContaining("trust domain partner.example is not trusted");
  }
}
