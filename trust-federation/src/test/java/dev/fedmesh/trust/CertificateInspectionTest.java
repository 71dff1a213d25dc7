package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class CertificateInspectionTest {
  private final RootCa root = TestPki.root();
  private final ClusterCa east = TestPki.cluster(root, "east");

  @Test
  void describesAWorkloadChainUpToItsRoot() {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");

    CertificateInspection.Report report =
        CertificateInspection.inspect(
            Pem.encode(TestPki.chainWithRoot(cart, root)), "cart.pem", List.of(), TestPki.CLOCK);

    assertThat(report.problems()).isEmpty();
    assertThat(report.certificates())
        .extracting(CertificateInspection.Summary::role)
        .containsExactly("workload (leaf)", "intermediate CA", "root CA");
    assertThat(report.certificates().get(0).uris())
        .containsExactly("spiffe://fedmesh.local/ns/shop/sa/cart");
    assertThat(report.certificates().get(0).key()).isEqualTo("ECDSA P-256");
    assertThat(report.notes())
        .containsExactly(
            "verified against the file's own root; pass the trusted roots to verify against them");
  }

  @Test
  void saysWhenTheChainCannotBeVerifiedWithoutRoots() {
    SvidCredential cart = TestPki.workload(east, "shop", "cart");

    CertificateInspection.Report report =
        CertificateInspection.inspect(cart.svid().pem(), "cart.pem", List.of(), TestPki.CLOCK);

    assertThat(report.problems()).isEmpty();
    assertThat(report.notes())
        .singleElement()
        .asString()
        .endsWith("not at a root: pass the trusted roots to verify it");
    assertThat(
            CertificateInspection.inspect(
                    cart.svid().pem(),
                    "cart.pem",
                    List.of(TestPki.root().certificate()),
                    TestPki.CLOCK)
                .problems())
        .singleElement()
        .asString()
        .startsWith("chain: does not verify");
  }

  @Test
  void listsTheProblemsOfABadLeafAndAnExpiredChain() {
    var leaf =
        Forge.certificate("", KeyAlgorithm.EC_P256.generate())
            .extension(Extension.basicConstraints, true, new BasicConstraints(false))
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment))
            .uri("spiffe://fedmesh.local")
            .signedBy(east.certificate(), east.key());
    List<java.security.cert.X509Certificate> chain =
        new ArrayList<>(List.of(leaf, east.certificate()));

    CertificateInspection.Report report =
        CertificateInspection.inspect(
            Pem.encode(chain),
            "bad.pem",
            List.of(),
            Clock.offset(TestPki.CLOCK, Duration.ofDays(2)));

    assertThat(report.problems())
        .contains(
            "certificate[0].keyUsage: no digitalSignature (expected: digitalSignature)",
            "certificate[0].subjectAltName: spiffe://fedmesh.local (expected: a workload SPIFFE ID"
                + " with a path; spiffe://fedmesh.local names the trust domain itself)")
        .anySatisfy(problem -> assertThat(problem).startsWith("certificate[0]: expired at"));
  }
}
