package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class SvidVerifierTest {
  private static final String WORKLOAD = "spiffe://fedmesh.local/ns/shop/sa/cart";

  private final RootCa root = TestPki.root();
  private final ClusterCa east = TestPki.cluster(root, "east");
  private final TrustBundleSet bundles = TrustBundleSet.of(east.trustBundle());
  private final SvidVerifier verifier = SvidVerifier.of(bundles, TestPki.CLOCK);

  @Test
  void acceptsAnSvidOfOurTrustDomain() {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");

    assertThat(verifier.verify(cart.svid().chain()).uri()).isEqualTo(WORKLOAD);
    assertThat(verifier.verify(TestPki.chainWithRoot(cart, root)).uri()).isEqualTo(WORKLOAD);
  }

  @Test
  void rejectsALeafWithCaTrue() {
    X509Certificate leaf =
        leaf(
            Forge.certificate("", KeyAlgorithm.EC_P256.generate())
                .extension(Extension.basicConstraints, true, new BasicConstraints(true))
                .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .uri(WORKLOAD));

    assertThat(verifier.problems(List.of(leaf, east.certificate())))
        .containsExactly(
            "chain[0].basicConstraints: cA=true (expected: cA=false on a workload certificate)");
  }

  @Test
  void rejectsALeafWithoutDigitalSignature() {
    X509Certificate leaf =
        leaf(
            Forge.certificate("", KeyAlgorithm.EC_P256.generate())
                .extension(Extension.basicConstraints, true, new BasicConstraints(false))
                .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyAgreement))
                .uri(WORKLOAD));

    assertThat(verifier.problems(List.of(leaf, east.certificate())))
        .containsExactly("chain[0].keyUsage: no digitalSignature (expected: digitalSignature)");
  }

  @Test
  void rejectsALeafWhoseIdIsTheTrustDomainItself() {
    X509Certificate leaf =
        leaf(
            Forge.certificate("", KeyAlgorithm.EC_P256.generate())
                .extension(Extension.basicConstraints, true, new BasicConstraints(false))
                .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .uri("spiffe://fedmesh.local"));

    assertThat(verifier.problems(List.of(leaf, east.certificate())))
        .containsExactly(
            "chain[0].subjectAltName: spiffe://fedmesh.local (expected: a workload SPIFFE ID with"
                + " a path; spiffe://fedmesh.local names the trust domain itself)");
  }

  @Test
  void rejectsALeafWithTwoUris() {
    X509Certificate leaf =
        leaf(
            Forge.certificate("", KeyAlgorithm.EC_P256.generate())
                .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .uri(WORKLOAD, "spiffe://fedmesh.local/ns/shop/sa/admin"));

    assertThat(verifier.problems(List.of(leaf, east.certificate())))
        .singleElement()
        .asString()
        .startsWith("chain[0].subjectAltName: 2 URIs");
  }

  @Test
  void rejectsAnIntermediateWhoseSpiffeIdHasAPath() {
    KeyPair intermediateKeys = KeyAlgorithm.EC_P256.generate();
    X509Certificate intermediate =
        Forge.certificate("bad intermediate", intermediateKeys)
            .ca(0)
            .uri("spiffe://fedmesh.local/ns/shop")
            .signedBy(root.certificate(), root.key());
    X509Certificate leaf =
        Forge.certificate("", KeyAlgorithm.EC_P256.generate())
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .uri(WORKLOAD)
            .signedBy(intermediate, intermediateKeys.getPrivate());

    assertThat(verifier.problems(List.of(leaf, intermediate)))
        .containsExactly(
            "chain[1].subjectAltName: spiffe://fedmesh.local/ns/shop (expected: a SPIFFE ID with no"
                + " path on a CA certificate, spiffe://fedmesh.local)");
  }

  @Test
  void rejectsAnIntermediateWithoutCaFlags() {
    KeyPair intermediateKeys = KeyAlgorithm.EC_P256.generate();
    X509Certificate intermediate =
        Forge.certificate("not a ca", intermediateKeys)
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .signedBy(root.certificate(), root.key());
    X509Certificate leaf =
        Forge.certificate("", KeyAlgorithm.EC_P256.generate())
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .uri(WORKLOAD)
            .signedBy(intermediate, intermediateKeys.getPrivate());

    assertThat(verifier.problems(List.of(leaf, intermediate)))
        .containsExactly(
            "chain[1].basicConstraints: absent (expected: cA=true on a signing certificate)",
            "chain[1].keyUsage: no keyCertSign (expected: keyCertSign on a signing certificate)");
  }

  @Test
  void rejectsAForeignCaThatClaimsOurTrustDomain() {
    RootCa impostor = TestPki.root(); // same trust domain name, different key
    SvidCredential forged = TestPki.workload(TestPki.cluster(impostor, "east"), "shop", "cart");

    assertThatThrownBy(() -> verifier.verify(forged.svid().chain()))
        .isInstanceOf(SvidRejectedException.class)
        .hasMessageStartingWith(
            "chain: does not verify to a root of the fedmesh.local trust bundle");
  }

  @Test
  void rejectsATrustDomainWithoutABundle() {
    ClusterCa other = TestPki.cluster(TestPki.root(TrustDomain.of("partner.example")), "west");
    SvidCredential partner = TestPki.workload(other, "shop", "cart");

    assertThat(verifier.problems(partner.svid().chain()))
        .containsExactly(
            "chain[0]: trust domain partner.example is not trusted (expected: one of"
                + " [fedmesh.local])");
  }

  @Test
  void acceptsAFederatedTrustDomainOnlyWithItsOwnBundle() {
    RootCa partnerRoot = TestPki.root(TrustDomain.of("partner.example"));
    SvidCredential partner = TestPki.workload(TestPki.cluster(partnerRoot, "west"), "shop", "cart");
    SvidVerifier federated =
        SvidVerifier.of(
            bundles.with(
                TrustBundle.of(TrustDomain.of("partner.example"), partnerRoot.certificate())),
            TestPki.CLOCK);

    assertThat(federated.verify(partner.svid().chain()).uri())
        .isEqualTo("spiffe://partner.example/ns/shop/sa/cart");

    // A partner root must not vouch for identities in our trust domain.
    ClusterCa partnerCa = TestPki.cluster(partnerRoot, "west");
    X509Svid claimsOurs =
        SvidIssuer.of(
                new ClusterCa(
                    TestPki.DOMAIN,
                    partnerCa.certificate(),
                    partnerCa.key(),
                    List.of(),
                    List.of(partnerRoot.certificate())),
                SvidPolicy.of(),
                TestPki.CLOCK)
            .issue(
                WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()),
                CallerIdentity.of("shop", "cart"));
    assertThat(federated.problems(claimsOurs.chain()))
        .contains(
            "chain[1].subjectAltName: spiffe://partner.example (expected: the leaf's trust domain"
                + " fedmesh.local)");
  }

  @Test
  void rejectsAnExpiredLeaf() {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    SvidVerifier tomorrow =
        SvidVerifier.of(bundles, java.time.Clock.offset(TestPki.CLOCK, Duration.ofHours(25)));

    assertThat(tomorrow.problems(cart.svid().chain()))
        .singleElement()
        .asString()
        .startsWith("chain[0]: expired at");
  }

  @Test
  void aRemovedRootIsNoLongerTrusted() {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");
    RootCa next = TestPki.root();
    TrustBundle rotated = east.trustBundle().withRoot(next.certificate());

    assertThat(
            SvidVerifier.of(TrustBundleSet.of(rotated), TestPki.CLOCK)
                .problems(cart.svid().chain()))
        .isEmpty();
    assertThat(
            SvidVerifier.of(
                    TrustBundleSet.of(rotated.withoutRoot(root.certificate())), TestPki.CLOCK)
                .problems(cart.svid().chain()))
        .singleElement()
        .asString()
        .startsWith("chain: does not verify");
  }

  private X509Certificate leaf(Forge forge) {
    return forge
        .validity(Instant.now().minusSeconds(60), Instant.now().plusSeconds(3600))
        .signedBy(east.certificate(), east.key());
  }
}
