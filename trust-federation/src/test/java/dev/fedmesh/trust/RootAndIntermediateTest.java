package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.model.ClusterName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x509.Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootAndIntermediateTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @TempDir Path dir;

  @Test
  void aGeneratedRootIsACriticalCaForTenYearsWithTheTrustDomainId() throws Exception {
    RootCa root = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);
    X509Certificate certificate = root.certificate();

    assertThat(certificate.getSubjectX500Principal())
        .isEqualTo(certificate.getIssuerX500Principal());
    assertThat(certificate.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
    assertThat(certificate.getCriticalExtensionOIDs())
        .contains(Extension.basicConstraints.getId(), Extension.keyUsage.getId());
    assertThat(certificate.getKeyUsage()).startsWith(false, false, false, false, false, true, true);
    assertThat(certificate.getSubjectAlternativeNames())
        .containsExactly(List.of(6, "spiffe://fedmesh.local"));
    assertThat(certificate.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(certificate.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(3650)));
    assertThat(certificate.getSigAlgName()).isEqualTo("SHA256withECDSA");
  }

  @Test
  void aRootCanBeRsaAndWithoutSpiffeId() {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TrustDomain.of("corp.example"))
                .keyAlgorithm(KeyAlgorithm.RSA_4096)
                .validity(Duration.ofDays(730))
                .spiffeId(false)
                .build(),
            CLOCK);

    assertThat(((RSAPublicKey) root.certificate().getPublicKey()).getModulus().bitLength())
        .isEqualTo(4096);
    assertThat(CertificateFacts.uris(root.certificate())).isEmpty();
    assertThat(root.certificate().getNotAfter().toInstant())
        .isEqualTo(NOW.plus(Duration.ofDays(730)));
  }

  @Test
  void aClusterIntermediateHasPathLenZeroForOneYear() throws Exception {
    RootCa root = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);

    ClusterCa east = root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), CLOCK);
    X509Certificate certificate = east.certificate();

    assertThat(certificate.getBasicConstraints()).isZero();
    assertThat(certificate.getCriticalExtensionOIDs())
        .contains(Extension.basicConstraints.getId(), Extension.keyUsage.getId())
        .doesNotContain(Extension.nameConstraints.getId());
    assertThat(certificate.getSubjectAlternativeNames())
        .containsExactly(List.of(6, "spiffe://fedmesh.local"));
    assertThat(certificate.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(365)));
    assertThat(CertificateFacts.issuedBy(certificate, root.certificate())).isTrue();
    assertThat(east.certChain()).containsExactly(certificate, root.certificate());
    assertThat(certificate.getSubjectX500Principal().getName()).contains("east");
  }

  @Test
  void anIntermediateCanBeNameConstrainedToTheTrustDomain() {
    RootCa root = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);

    ClusterCa east =
        root.issueIntermediate(
            IntermediateSpec.builder(ClusterName.of("east")).nameConstrained(true).build(), CLOCK);

    assertThat(east.certificate().getCriticalExtensionOIDs())
        .contains(Extension.nameConstraints.getId());
  }

  @Test
  void anIntermediateNeverOutlivesItsRoot() {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TrustDomain.of("fedmesh.local"))
                .validity(Duration.ofDays(100))
                .build(),
            CLOCK);

    ClusterCa east = root.issueIntermediate(IntermediateSpec.of(ClusterName.of("east")), CLOCK);

    assertThat(east.certificate().getNotAfter()).isEqualTo(root.certificate().getNotAfter());
  }

  @Test
  void anExpiredRootSignsNothing() {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TrustDomain.of("fedmesh.local"))
                .validity(Duration.ofDays(1))
                .build(),
            CLOCK);

    assertThatThrownBy(
            () ->
                root.issueIntermediate(
                    IntermediateSpec.of(ClusterName.of("east")),
                    Clock.offset(CLOCK, Duration.ofDays(2))))
        .hasMessageStartingWith("root: expired at ");
  }

  @Test
  void rootFilesKeepTheKeyPrivateAndAreNotOverwrittenByAccident() throws Exception {
    RootCa root = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);
    CaFiles.writeRoot(root, dir, false);

    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("root-key.pem"))))
        .isEqualTo("rw-------");
    RootCa read = CaFiles.readRoot(dir, Optional.empty());
    assertThat(read.certificate()).isEqualTo(root.certificate());
    assertThat(read.trustDomain()).isEqualTo(TrustDomain.of("fedmesh.local"));

    RootCa other = RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK);
    assertThatThrownBy(() -> CaFiles.writeRoot(other, dir, false))
        .hasMessage(
            "out: "
                + dir
                + " already holds root-cert.pem, root-key.pem (expected: a directory without them;"
                + " pass --force to replace them)");
    assertThat(CaFiles.readRoot(dir, Optional.empty()).certificate()).isEqualTo(root.certificate());
  }

  @Test
  void aRootsOwnTrustDomainWins() throws Exception {
    CaFiles.writeRoot(
        RootCa.generate(RootCaSpec.of(TrustDomain.of("fedmesh.local")), CLOCK), dir, false);

    assertThatThrownBy(() -> CaFiles.readRoot(dir, Optional.of(TrustDomain.of("corp.example"))))
        .hasMessage(
            "trustDomain: 'corp.example' (expected: the root's own trust domain 'fedmesh.local')");
  }
}
