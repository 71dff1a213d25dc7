package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.trust.CertificateRequestException.Reason;
import java.io.IOException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

class SvidIssuerTest {
  private static final CallerIdentity CALLER = CallerIdentity.of("payments", "api");
  private static final String CALLER_ID = "spiffe://fedmesh.local/ns/payments/sa/api";

  private final RootCa root = TestPki.root();
  private final ClusterCa east = TestPki.cluster(root, "east");
  private final SvidIssuer issuer = TestPki.issuer(east);

  @Test
  void issuesAnSvidWhoseIdentityTheCaDecides() throws Exception {
    SvidCredential credential = TestPki.workload(east, "payments", "api");
    X509Certificate leaf = credential.svid().leaf();

    assertThat(credential.svid().id().uri()).isEqualTo(CALLER_ID);
    assertThat(leaf.getSubjectAlternativeNames()).singleElement().isEqualTo(List.of(6, CALLER_ID));
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getKeyUsage()).startsWith(true, false, false, false, false, false, false);
    assertThat(leaf.getCriticalExtensionOIDs())
        .contains(Extension.keyUsage.getId(), Extension.basicConstraints.getId());
    assertThat(leaf.getExtendedKeyUsage())
        .containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(credential.svid().chain()).containsExactly(leaf, east.certificate());
  }

  @Test
  void livesTwentyFourHoursByDefaultBackdatedByAMinute() {
    Instant now = Instant.now();
    SvidIssuer fixed = SvidIssuer.of(east, SvidPolicy.of(), Clock.fixed(now, ZoneOffset.UTC));

    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid = fixed.issue(WorkloadCsr.create(keys), CALLER);
    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), east.trustBundle());

    Instant start = now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    assertThat(svid.notBefore()).isEqualTo(start.minus(Duration.ofMinutes(1)));
    assertThat(svid.notAfter()).isEqualTo(start.plus(Duration.ofHours(24)));
  }

  @Test
  void honoursAShorterTtlAndRefusesOneAboveTheMaximum() {
    SvidIssuer capped =
        SvidIssuer.of(east, SvidPolicy.of(Duration.ofHours(1), Duration.ofHours(4)), TestPki.CLOCK);
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    byte[] csr = WorkloadCsr.create(keys);

    X509Svid svid = capped.issue(csr, CALLER, Duration.ofHours(2));
    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), east.trustBundle());
    assertThat(Duration.between(svid.notBefore(), svid.notAfter()))
        .isEqualTo(Duration.ofHours(2).plusMinutes(1));

    assertThatThrownBy(() -> capped.issue(csr, CALLER, Duration.ofHours(5)))
        .isInstanceOf(CertificateRequestException.class)
        .hasMessage("ttl: 5h (expected: <= 4h, this CA's maximum)");
  }

  @Test
  void neverOutlivesTheClusterCa() {
    ClusterCa shortLived =
        root.issueIntermediate(
            IntermediateSpec.builder(dev.fedmesh.model.ClusterName.of("west"))
                .validity(Duration.ofHours(2))
                .build(),
            TestPki.CLOCK);

    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid = TestPki.issuer(shortLived).issue(WorkloadCsr.create(keys), CALLER);
    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), shortLived.trustBundle());

    assertThat(svid.notAfter()).isEqualTo(shortLived.certificate().getNotAfter().toInstant());
  }

  @Test
  void refusesOnceTheClusterCaExpired() {
    Clock later = Clock.offset(TestPki.CLOCK, Duration.ofDays(400));
    SvidIssuer expired = SvidIssuer.of(east, SvidPolicy.of(), later);

    assertThatThrownBy(
            () -> expired.issue(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate()), CALLER))
        .isInstanceOfSatisfying(
            CertificateRequestException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.CA_UNAVAILABLE))
        .hasMessageStartingWith("ca: certificate expired at");
  }

  @Test
  void acceptsACsrThatNamesTheCallersOwnId() {
    KeyPair keys = KeyAlgorithm.EC_P384.generate();
    X509Svid svid = issuer.issue(WorkloadCsr.create(keys, SpiffeId.parse(CALLER_ID)), CALLER);

    assertThat(svid.id().uri()).isEqualTo(CALLER_ID);
    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), east.trustBundle());
  }

  @Test
  void acceptsRsaWorkloadKeys() {
    KeyPair keys = KeyAlgorithm.RSA_2048.generate();
    X509Svid svid = issuer.issue(WorkloadCsr.create(keys), CALLER);

    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), east.trustBundle());
  }

  @Test
  void refusesACsrWithABadSignature() {
    byte[] csr = WorkloadCsr.create(KeyAlgorithm.EC_P256.generate());
    csr[csr.length - 5] ^= 0x01; // inside the signature

    assertRefused(
        csr,
        Reason.INVALID_REQUEST,
        "csr.signature: does not verify with the request's public key (expected: signed by the"
            + " private key of csr.key)");
  }

  @Test
  void refusesACsrSignedByAnotherKey() throws Exception {
    KeyPair claimed = KeyAlgorithm.EC_P256.generate();
    KeyPair signer = KeyAlgorithm.EC_P256.generate();
    byte[] csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), claimed.getPublic())
            .build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate()))
            .getEncoded();

    assertRefused(
        csr,
        Reason.INVALID_REQUEST,
        "csr.signature: does not verify with the request's public key (expected: signed by the"
            + " private key of csr.key)");
  }

  @Test
  void refusesAWeakRsaKey() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(1024);
    byte[] csr = WorkloadCsr.create(generator.generateKeyPair());

    assertRefused(
        csr,
        Reason.INVALID_REQUEST,
        "csr.key: RSA 1024 bits (expected: RSA >= 2048 or ECDSA P-256/P-384)");
  }

  @Test
  void refusesAnUnsupportedCurve() throws Exception {
    BouncyCastleProvider bc = new BouncyCastleProvider();
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", bc);
    generator.initialize(new ECGenParameterSpec("secp256k1"));
    KeyPair keys = generator.generateKeyPair();
    byte[] csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), keys.getPublic())
            .build(
                new JcaContentSignerBuilder("SHA256withECDSA")
                    .setProvider(bc)
                    .build(keys.getPrivate()))
            .getEncoded();

    assertRefused(
        csr,
        Reason.INVALID_REQUEST,
        "csr.key: ECDSA secp256k1 (expected: RSA >= 2048 or ECDSA P-256/P-384)");
  }

  @Test
  void refusesASha1Signature() throws Exception {
    KeyPair keys = KeyAlgorithm.RSA_2048.generate();
    byte[] csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), keys.getPublic())
            .build(new JcaContentSignerBuilder("SHA1withRSA").build(keys.getPrivate()))
            .getEncoded();

    assertRefused(
        csr,
        Reason.INVALID_REQUEST,
        "csr.signatureAlgorithm: SHA1WITHRSA (expected: SHA-256, SHA-384 or SHA-512 with RSA or"
            + " ECDSA)");
  }

  @Test
  void refusesARequestForACaCertificate() throws Exception {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));

    assertRefused(
        csrWith(extensions),
        Reason.INVALID_REQUEST,
        "csr.extensions.basicConstraints: cA=true (expected: no CA request; workload certificates"
            + " are never CAs)");
  }

  @Test
  void refusesSeveralUris() throws Exception {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.uniformResourceIdentifier, CALLER_ID),
              new GeneralName(
                  GeneralName.uniformResourceIdentifier, "spiffe://fedmesh.local/ns/x/sa/y")
            }));

    assertRefused(
        csrWith(extensions),
        Reason.INVALID_REQUEST,
        "csr.subjectAltName: 2 URIs ["
            + CALLER_ID
            + ", spiffe://fedmesh.local/ns/x/sa/y]"
            + " (expected: at most one, the caller's SPIFFE ID "
            + CALLER_ID
            + ")");
  }

  @Test
  void refusesAnIdentityOtherThanTheCallers() {
    byte[] csr =
        WorkloadCsr.create(
            KeyAlgorithm.EC_P256.generate(),
            SpiffeId.parse("spiffe://fedmesh.local/ns/payments/sa/admin"));

    assertRefused(
        csr,
        Reason.IDENTITY_MISMATCH,
        "csr.subjectAltName: spiffe://fedmesh.local/ns/payments/sa/admin (expected: the caller's"
            + " own SPIFFE ID "
            + CALLER_ID
            + ")");
  }

  @Test
  void refusesTheCallersPathInAnotherTrustDomain() {
    byte[] csr =
        WorkloadCsr.create(
            KeyAlgorithm.EC_P256.generate(),
            SpiffeId.parse("spiffe://evil.example/ns/payments/sa/api"));

    assertRefused(
        csr,
        Reason.IDENTITY_MISMATCH,
        "csr.subjectAltName: spiffe://evil.example/ns/payments/sa/api (expected: the caller's own"
            + " SPIFFE ID "
            + CALLER_ID
            + ")");
  }

  @Test
  void refusesDnsNames() throws Exception {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, "api.payments.svc")));

    assertRefused(
        csrWith(extensions),
        Reason.INVALID_REQUEST,
        "csr.subjectAltName: DNS name 'api.payments.svc' (expected: only the caller's SPIFFE ID "
            + CALLER_ID
            + " or no SAN; the CA issues SPIFFE IDs only)");
  }

  @Test
  void refusesBytesThatAreNotACsr() {
    assertThatThrownBy(() -> issuer.issue(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}, CALLER))
        .isInstanceOf(CertificateRequestException.class)
        .hasMessageStartingWith("csr: not a DER PKCS#10 certificate request");
  }

  @Test
  void listsEveryProblemAtOnce() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(1024);
    KeyPair keys = generator.generateKeyPair();
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    byte[] csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), keys.getPublic())
            .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
            .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate()))
            .getEncoded();

    assertThatThrownBy(() -> issuer.issue(csr, CALLER, Duration.ofDays(3)))
        .isInstanceOfSatisfying(
            CertificateRequestException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "csr.key: RSA 1024 bits (expected: RSA >= 2048 or ECDSA P-256/P-384)",
                        "csr.extensions.basicConstraints: cA=true (expected: no CA request;"
                            + " workload certificates are never CAs)",
                        "ttl: 3d (expected: <= 24h, this CA's maximum)"));
  }

  private void assertRefused(byte[] csr, Reason reason, String problem) {
    assertThatThrownBy(() -> issuer.issue(csr, CALLER))
        .isInstanceOfSatisfying(
            CertificateRequestException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.problems()).containsExactly(problem);
            });
  }

  private static byte[] csrWith(ExtensionsGenerator extensions) throws IOException {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    try {
      return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), keys.getPublic())
          .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()))
          .getEncoded();
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }
}
