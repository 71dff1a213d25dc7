package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of SVID fedmesh issues passes {@code openssl verify -x509_strict} for TLS clients and
 * servers, and java-spiffe-core's checks; also for a CA an operator made with openssl itself.
 */
class OpensslVerifyIT {
  @TempDir Path dir;

  @Test
  void defaultEcdsaChain() throws Exception {
    RootCa root = TestPki.root();
    ClusterCa east = TestPki.cluster(root, "east");

    SvidCredential cart = TestPki.workload(east, "shop", "cart");

    Openssl.assertAccepted(dir, List.of(root.certificate()), cart.svid());
  }

  @Test
  void rsaRootRsaIntermediateRsaWorkload() throws Exception {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TestPki.DOMAIN).keyAlgorithm(KeyAlgorithm.RSA_4096).build(),
            TestPki.CLOCK);
    ClusterCa west =
        root.issueIntermediate(
            IntermediateSpec.builder(ClusterName.of("west"))
                .keyAlgorithm(KeyAlgorithm.RSA_2048)
                .build(),
            TestPki.CLOCK);
    KeyPair keys = KeyAlgorithm.RSA_2048.generate();
    X509Svid svid =
        TestPki.issuer(west).issue(WorkloadCsr.create(keys), CallerIdentity.of("pay", "api"));
    TestPki.assertAcceptedBySpiffeLibrary(
        SvidCredential.of(svid, keys.getPrivate()), west.trustBundle());

    Openssl.assertAccepted(dir, List.of(root.certificate()), svid);
  }

  @Test
  void nameConstrainedIntermediateUnderARootWithoutSpiffeId() throws Exception {
    RootCa root =
        RootCa.generate(
            RootCaSpec.builder(TestPki.DOMAIN)
                .keyAlgorithm(KeyAlgorithm.EC_P384)
                .spiffeId(false)
                .build(),
            TestPki.CLOCK);
    ClusterCa central =
        root.issueIntermediate(
            IntermediateSpec.builder(ClusterName.of("central")).nameConstrained(true).build(),
            TestPki.CLOCK);

    SvidCredential billing = TestPki.workload(central, "billing", "api");

    Openssl.assertAccepted(dir, List.of(root.certificate()), billing.svid());
  }

  @Test
  void duringARootRotationBothChainsVerifyAgainstTheCombinedBundle() throws Exception {
    RootCa oldRoot = TestPki.root();
    RootCa newRoot = TestPki.root();
    List<java.security.cert.X509Certificate> both =
        List.of(oldRoot.certificate(), newRoot.certificate());

    Openssl.assertAccepted(
        dir, both, TestPki.workload(TestPki.cluster(oldRoot, "east"), "shop", "cart").svid());
    Openssl.assertAccepted(
        dir, both, TestPki.workload(TestPki.cluster(newRoot, "east"), "shop", "cart").svid());
  }

  @Test
  void aForeignChainFailsAgainstOurRoot() throws Exception {
    RootCa root = TestPki.root();
    SvidCredential impostor =
        TestPki.workload(TestPki.cluster(TestPki.root(), "east"), "shop", "cart");

    Openssl.Result result =
        Openssl.verify(dir, List.of(root.certificate()), impostor.svid(), "sslclient");

    assertThat(result.exitCode()).isNotZero();
    assertThat(result.output()).contains("unable to get local issuer certificate");
  }

  @Test
  void aClusterCaMadeWithOpensslIsOnboardedAndSignsValidSvids() throws Exception {
    // The operator's own PKI, as Istio's certificate tooling makes it: an offline RSA root and a
    // per-cluster intermediate in the cacerts layout. fedmesh never sees the root's key.
    Path pki = Files.createDirectory(dir.resolve("pki"));
    Files.writeString(
        pki.resolve("root.conf"),
        String.join(
            "\n",
            "[req]",
            "distinguished_name = dn",
            "prompt = no",
            "x509_extensions = ext",
            "[dn]",
            "O = Corp",
            "CN = Corp Root CA",
            "[ext]",
            "basicConstraints = critical, CA:true",
            "keyUsage = critical, keyCertSign, cRLSign",
            "subjectKeyIdentifier = hash",
            ""));
    Files.writeString(
        pki.resolve("intermediate.ext"),
        String.join(
            "\n",
            "basicConstraints = critical, CA:true, pathlen:0",
            "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
            "subjectKeyIdentifier = hash",
            "authorityKeyIdentifier = keyid:always",
            "subjectAltName = URI:spiffe://corp.example, DNS:istiod.istio-system.svc",
            ""));
    Openssl.runOrFail(pki, "genrsa", "-traditional", "-out", "root-key.pem", "4096");
    Openssl.runOrFail(
        pki,
        "req",
        "-x509",
        "-new",
        "-key",
        "root-key.pem",
        "-sha256",
        "-days",
        "3650",
        "-config",
        "root.conf",
        "-out",
        "root-cert.pem");
    Openssl.runOrFail(pki, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ca-key.pem");
    Openssl.runOrFail(
        pki,
        "req",
        "-new",
        "-key",
        "ca-key.pem",
        "-subj",
        "/O=Corp/CN=east intermediate",
        "-out",
        "ca.csr");
    Openssl.runOrFail(
        pki,
        "x509",
        "-req",
        "-in",
        "ca.csr",
        "-CA",
        "root-cert.pem",
        "-CAkey",
        "root-key.pem",
        "-CAcreateserial",
        "-sha256",
        "-days",
        "365",
        "-extfile",
        "intermediate.ext",
        "-out",
        "ca-cert.pem");
    Files.writeString(
        pki.resolve("cert-chain.pem"),
        Files.readString(pki.resolve("ca-cert.pem"))
            + Files.readString(pki.resolve("root-cert.pem")));
    Files.delete(pki.resolve("root-key.pem"));

    OnboardingReport report = CaOnboarding.validate(pki, Optional.empty(), TestPki.CLOCK);
    assertThat(report.problems()).isEmpty();
    ClusterCa corp = report.orElseThrow();
    assertThat(corp.trustDomain()).isEqualTo(TrustDomain.of("corp.example"));

    SvidCredential cart = TestPki.workload(corp, "shop", "cart");
    assertThat(cart.svid().id().uri()).isEqualTo("spiffe://corp.example/ns/shop/sa/cart");
    Openssl.assertAccepted(dir, corp.roots(), cart.svid());

    Path installed = CaOnboarding.install(corp, ClusterName.of("east"), dir.resolve("ca"));
    ClusterCa reloaded = CaFiles.readClusterCa(installed, Optional.empty(), TestPki.CLOCK);
    Openssl.assertAccepted(
        dir, reloaded.roots(), TestPki.workload(reloaded, "shop", "cart").svid());
    Openssl.runOrFail(
        installed, "verify", "-x509_strict", "-CAfile", "root-cert.pem", "ca-cert.pem");
    // Backdating never reaches before the CA's own start, which openssl set to "now".
    assertThat(Duration.between(cart.svid().notBefore(), cart.svid().notAfter()))
        .isBetween(Duration.ofHours(24), Duration.ofHours(24).plusMinutes(1));
  }
}
