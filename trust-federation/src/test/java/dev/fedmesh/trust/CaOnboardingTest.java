package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.model.ClusterName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaOnboardingTest {
  private final RootCa root = TestPki.root();
  private final ClusterCa east = TestPki.cluster(root, "east");

  @TempDir Path dir;

  @Test
  void acceptsAClusterCaInTheCacertsLayoutAndSignsWithIt() {
    OnboardingReport report = validate(material(east));

    assertThat(report.problems()).isEmpty();
    assertThat(report.warnings()).isEmpty();
    ClusterCa onboarded = report.orElseThrow();
    assertThat(onboarded.trustDomain()).isEqualTo(TestPki.DOMAIN);
    assertThat(onboarded.certificate()).isEqualTo(east.certificate());
    assertThat(onboarded.roots()).containsExactly(root.certificate());
    TestPki.workload(onboarded, "shop", "cart");
  }

  @Test
  void refusesAKeyThatDoesNotMatch() {
    CaMaterial material =
        CaMaterial.of(
            pem(root.certificate()),
            pem(east.certificate()),
            Pem.encode(KeyAlgorithm.EC_P256.generate().getPrivate()),
            pem(east.certificate(), root.certificate()));

    assertThat(validate(material).problems())
        .containsExactly(
            "ca-key.pem: does not match the public key of ca-cert.pem (expected: the CA"
                + " certificate's own private key)");
  }

  @Test
  void refusesAChainThatDoesNotReachTheRoot() {
    RootCa other = TestPki.root();
    CaMaterial material =
        CaMaterial.of(
            pem(other.certificate()),
            pem(east.certificate()),
            Pem.encode(east.key()),
            pem(east.certificate()));

    assertThat(validate(material).problems())
        .singleElement()
        .asString()
        .startsWith("cert-chain.pem: does not verify to root-cert.pem (");
  }

  @Test
  void refusesAChainEndingAtAnotherRoot() {
    RootCa other = TestPki.root();
    CaMaterial material =
        CaMaterial.of(
            pem(other.certificate()),
            pem(east.certificate()),
            Pem.encode(east.key()),
            pem(east.certificate(), root.certificate()));

    assertThat(validate(material).problems())
        .singleElement()
        .asString()
        .startsWith("cert-chain.pem[1]: the root '")
        .endsWith(
            "' is not in root-cert.pem (expected: the chain to end at a root of root-cert.pem)");
  }

  @Test
  void refusesAnIntermediateWithoutCaFlags() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate notCa =
        Forge.certificate("east", keys)
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(notCa, keys)).problems())
        .containsExactly(
            "ca-cert.pem.basicConstraints: absent (expected: cA=true on a signing certificate)",
            "ca-cert.pem.keyUsage: no keyCertSign (expected: keyCertSign on a signing certificate)");
  }

  @Test
  void refusesANonCriticalBasicConstraints() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate lax =
        Forge.certificate("east", keys)
            .extension(Extension.basicConstraints, false, new BasicConstraints(0))
            .extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign))
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(lax, keys)).problems())
        .containsExactly(
            "ca-cert.pem.basicConstraints: not critical (expected: critical, as RFC 5280"
                + " requires)");
  }

  @Test
  void refusesAnIntermediateWhoseSpiffeIdHasAPath() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate withPath =
        Forge.certificate("east", keys)
            .ca(0)
            .uri("spiffe://fedmesh.local/cluster/east")
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(withPath, keys)).problems())
        .containsExactly(
            "ca-cert.pem.subjectAltName: spiffe://fedmesh.local/cluster/east (expected: a SPIFFE"
                + " ID with no path on a CA certificate, spiffe://fedmesh.local)");
  }

  @Test
  void refusesAnIntermediateLimitedToServerAuthentication() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate serverOnly =
        Forge.certificate("east", keys)
            .ca(0)
            .extension(
                Extension.extendedKeyUsage,
                false,
                new org.bouncycastle.asn1.x509.ExtendedKeyUsage(
                    org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_serverAuth))
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(serverOnly, keys)).problems())
        .containsExactly(
            "ca-cert.pem.extendedKeyUsage: [1.3.6.1.5.5.7.3.1] (expected: none, or both serverAuth"
                + " 1.3.6.1.5.5.7.3.1 and clientAuth 1.3.6.1.5.5.7.3.2, since workloads are TLS"
                + " clients and servers)");
  }

  @Test
  void refusesAnExpiredIntermediate() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    Instant now = Instant.now();
    X509Certificate expired =
        Forge.certificate("east", keys)
            .ca(0)
            .validity(now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)))
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(expired, keys)).problems())
        .singleElement()
        .asString()
        .startsWith("ca-cert.pem: expired at ");
  }

  @Test
  void refusesAWeakKey() throws Exception {
    java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
    generator.initialize(1024);
    KeyPair keys = generator.generateKeyPair();
    X509Certificate weak =
        Forge.certificate("east", keys).ca(0).signedBy(root.certificate(), root.key());

    assertThat(validate(material(weak, keys)).problems())
        .containsExactly(
            "ca-cert.pem.key: RSA 1024 bits (expected: RSA >= 2048 or ECDSA P-256/P-384/P-521)");
  }

  @Test
  void refusesASha1SignedIntermediate() {
    RootCa rsaRoot =
        RootCa.generate(
            RootCaSpec.builder(TestPki.DOMAIN).keyAlgorithm(KeyAlgorithm.RSA_2048).build(),
            TestPki.CLOCK);
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate sha1 =
        Forge.certificate("east", keys)
            .ca(0)
            .signatureAlgorithm("SHA1withRSA")
            .signedBy(rsaRoot.certificate(), rsaRoot.key());
    CaMaterial material =
        CaMaterial.of(
            pem(rsaRoot.certificate()),
            pem(sha1),
            Pem.encode(keys.getPrivate()),
            pem(sha1, rsaRoot.certificate()));

    assertThat(validate(material).problems())
        .contains(
            "ca-cert.pem.signatureAlgorithm: SHA1WITHRSA (expected: SHA-256, SHA-384 or SHA-512"
                + " with RSA or ECDSA)");
  }

  @Test
  void refusesAnotherTrustDomainThanAskedFor() {
    OnboardingReport report =
        CaOnboarding.validate(
            material(east), Optional.of(TrustDomain.of("corp.example")), TestPki.CLOCK);

    assertThat(report.problems())
        .containsExactly(
            "ca-cert.pem.subjectAltName: spiffe://fedmesh.local (expected: the trust domain"
                + " spiffe://corp.example)",
            "root-cert.pem.subjectAltName: spiffe://fedmesh.local (expected: the trust domain"
                + " spiffe://corp.example)");
  }

  @Test
  void listsEveryMissingFile() {
    assertThat(CaOnboarding.validate(dir, Optional.empty(), TestPki.CLOCK).problems())
        .containsExactly(
            "root-cert.pem: missing (expected: a PEM file in the cacerts directory)",
            "ca-cert.pem: missing (expected: a PEM file in the cacerts directory)",
            "ca-key.pem: missing (expected: the CA's PEM private key)",
            "cert-chain.pem: missing (expected: a PEM file in the cacerts directory)");
  }

  @Test
  void refusesAChainInTheWrongOrder() {
    CaMaterial material =
        CaMaterial.of(
            pem(root.certificate()),
            pem(east.certificate()),
            Pem.encode(east.key()),
            pem(root.certificate(), east.certificate()));

    assertThat(validate(material).problems())
        .singleElement()
        .asString()
        .startsWith("cert-chain.pem: starts with '");
  }

  @Test
  void rejectsANameConstraintThatExcludesTheTrustDomain() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Certificate constrained =
        Forge.certificate("east", keys)
            .ca(0)
            .extension(
                Extension.nameConstraints,
                true,
                new org.bouncycastle.asn1.x509.NameConstraints(
                    new org.bouncycastle.asn1.x509.GeneralSubtree[] {
                      new org.bouncycastle.asn1.x509.GeneralSubtree(
                          new org.bouncycastle.asn1.x509.GeneralName(
                              org.bouncycastle.asn1.x509.GeneralName.uniformResourceIdentifier,
                              "other.example"))
                    },
                    null))
            .signedBy(root.certificate(), root.key());

    assertThat(validate(material(constrained, keys)).problems())
        .singleElement()
        .asString()
        .startsWith("trial issuance: a workload certificate signed by this CA is rejected (");
  }

  @Test
  void warnsAboutAMissingPathLenAndAnUnnamedTrustDomain() {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate();
    Instant now = Instant.now();
    X509Certificate plainRoot =
        Forge.certificate("corp root", rootKeys)
            .ca(null)
            .validity(now.minusSeconds(60), now.plus(Duration.ofDays(3650)))
            .selfSigned();
    X509Certificate unlimited =
        Forge.certificate("east", keys)
            .ca(null)
            .validity(now.minusSeconds(60), now.plus(Duration.ofDays(365)))
            .signedBy(plainRoot, rootKeys.getPrivate());
    CaMaterial material =
        CaMaterial.of(
            pem(plainRoot),
            pem(unlimited),
            Pem.encode(keys.getPrivate()),
            pem(unlimited, plainRoot));

    OnboardingReport report = validate(material);

    assertThat(report.problems()).isEmpty();
    assertThat(report.warnings())
        .containsExactly(
            "ca-cert.pem.basicConstraints: no pathLen (recommended: pathLen 0, so that this"
                + " cluster's key cannot create further CAs)",
            "trust domain: no certificate names one; using fedmesh.local (pass the trust domain"
                + " explicitly to choose another)");
  }

  @Test
  void installsWithAPrivateKeyFileAndReplacesThePreviousCa() throws Exception {
    Path installed = CaOnboarding.install(east, ClusterName.of("east"), dir);

    assertThat(installed).isEqualTo(dir.resolve("east"));
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(installed.resolve("ca-key.pem"))))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(installed)))
        .isEqualTo("rwx------");
    assertThat(CaFiles.readClusterCa(installed, Optional.empty(), TestPki.CLOCK).certificate())
        .isEqualTo(east.certificate());

    ClusterCa next = TestPki.cluster(root, "east");
    CaOnboarding.install(next, ClusterName.of("east"), dir);

    assertThat(CaFiles.readClusterCa(installed, Optional.empty(), TestPki.CLOCK).certificate())
        .isEqualTo(next.certificate());
    try (var entries = Files.list(dir)) {
      assertThat(entries.map(path -> path.getFileName().toString())).containsExactly("east");
    }
  }

  @Test
  void readingARefusedCaListsEveryProblem() throws Exception {
    CaOnboarding.install(east, ClusterName.of("east"), dir);
    Files.writeString(
        dir.resolve("east/ca-key.pem"), Pem.encode(KeyAlgorithm.EC_P256.generate().getPrivate()));

    assertThatThrownBy(
            () -> CaFiles.readClusterCa(dir.resolve("east"), Optional.empty(), TestPki.CLOCK))
        .isInstanceOf(InvalidCaException.class)
        .hasMessageContaining("ca-key.pem: does not match the public key of ca-cert.pem");
  }

  @Test
  void refusesAnEncryptedKey() {
    CaMaterial material =
        CaMaterial.of(
            pem(root.certificate()),
            pem(east.certificate()),
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMBQwDgYKKoZIhvcNAQwBAwQAAgIIAA==\n"
                + "-----END ENCRYPTED PRIVATE KEY-----\n",
            pem(east.certificate(), root.certificate()));

    assertThat(validate(material).problems())
        .isNotEmpty()
        .first()
        .asString()
        .startsWith("ca-key.pem:");
  }

  private OnboardingReport validate(CaMaterial material) {
    return CaOnboarding.validate(material, Optional.empty(), Clock.systemUTC());
  }

  private CaMaterial material(ClusterCa ca) {
    return CaMaterial.of(
        Pem.encode(ca.roots()),
        pem(ca.certificate()),
        Pem.encode(ca.key()),
        Pem.encode(ca.certChain()));
  }

  private CaMaterial material(X509Certificate caCert, KeyPair keys) {
    return CaMaterial.of(
        pem(root.certificate()),
        pem(caCert),
        Pem.encode(keys.getPrivate()),
        pem(caCert, root.certificate()));
  }

  private static String pem(X509Certificate... certificates) {
    return Pem.encode(List.of(certificates));
  }
}
