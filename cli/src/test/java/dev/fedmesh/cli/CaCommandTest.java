package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.WorkloadCsr;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaCommandTest {
  @TempDir Path dir;

  @Test
  void aControllerCertificateThatTheControllerAccepts() throws Exception {
    Path root = dir.resolve("root");
    Path controlPlane = dir.resolve("control-plane");
    Path tls = dir.resolve("controller-tls");
    assertThat(CliRun.of("ca", "init", "--out", root.toString()).exitCode()).isZero();
    assertThat(
            CliRun.of(
                    "ca",
                    "intermediate",
                    "--cluster",
                    "control-plane",
                    "--root",
                    root.toString(),
                    "--out",
                    controlPlane.toString())
                .exitCode())
        .isZero();

    CliRun issued =
        CliRun.of(
            "ca",
            "control-plane-cert",
            "--ca",
            controlPlane.toString(),
            "--component",
            "controller",
            "--out",
            tls.toString());

    assertThat(issued.exitCode()).as(issued.err()).isZero();
    assertThat(issued.out())
        .startsWith("spiffe://fedmesh.local/ns/fedmesh-system/sa/fedmesh-controller, valid until");
    assertThat(mode(tls.resolve("key.pem"))).isEqualTo("rw-------");
    // What the controller's --tls-dir reads, checked as it checks it.
    assertThat(dev.fedmesh.trust.SvidFiles.read(tls, java.time.Clock.systemUTC()).id())
        .isEqualTo(
            dev.fedmesh.trust.ControlPlaneTls.controllerId(
                dev.fedmesh.trust.TrustDomain.of("fedmesh.local")));

    CliRun again =
        CliRun.of(
            "ca",
            "control-plane-cert",
            "--ca",
            controlPlane.toString(),
            "--component",
            "proxy",
            "--out",
            tls.toString());
    assertThat(again.exitCode()).isEqualTo(2);
    assertThat(again.err())
        .contains("--component: 'proxy' (expected: controller, gateway or agent)");
  }

  @Test
  void fromANewRootToASignedWorkloadCertificate() throws Exception {
    Path root = dir.resolve("root");
    Path east = dir.resolve("east");
    Path caDir = dir.resolve("state/ca");

    CliRun init =
        CliRun.of("ca", "init", "--trust-domain", "corp.example", "--out", root.toString());
    assertThat(init.exitCode()).as(init.err()).isZero();
    assertThat(init.out()).contains("root CA for trust domain corp.example");
    assertThat(mode(root.resolve("root-key.pem"))).isEqualTo("rw-------");

    CliRun intermediate =
        CliRun.of(
            "ca",
            "intermediate",
            "--cluster",
            "east",
            "--root",
            root.toString(),
            "--out",
            east.toString());
    assertThat(intermediate.exitCode()).as(intermediate.err()).isZero();
    assertThat(east.resolve("ca-cert.pem")).exists();
    assertThat(east.resolve("cert-chain.pem")).exists();
    assertThat(east.resolve("root-cert.pem"))
        .hasSameTextualContentAs(root.resolve("root-cert.pem"));
    assertThat(mode(east.resolve("ca-key.pem"))).isEqualTo("rw-------");

    CliRun dryRun =
        CliRun.of(
            "ca",
            "onboard",
            "--cluster",
            "east",
            "--from",
            east.toString(),
            "--dry-run",
            "--ca-dir",
            caDir.toString());
    assertThat(dryRun.exitCode()).as(dryRun.err()).isZero();
    assertThat(dryRun.out())
        .contains("valid: the CA of cluster east for trust domain corp.example")
        .contains("dry run");
    assertThat(caDir).doesNotExist();

    CliRun onboard =
        CliRun.of(
            "ca",
            "onboard",
            "--cluster",
            "east",
            "--from",
            east.toString(),
            "--ca-dir",
            caDir.toString());
    assertThat(onboard.exitCode()).as(onboard.err()).isZero();
    Path installed = caDir.resolve("east");
    assertThat(mode(installed.resolve("ca-key.pem"))).isEqualTo("rw-------");

    Path csr = dir.resolve("cart.csr");
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    Files.writeString(csr, Pem.encodeCsr(WorkloadCsr.create(keys)));
    Path cert = dir.resolve("cart.pem");
    CliRun sign =
        CliRun.of(
            "ca",
            "sign",
            "--cluster-ca",
            installed.toString(),
            "--csr",
            csr.toString(),
            "--namespace",
            "shop",
            "--service-account",
            "cart",
            "--out",
            cert.toString());
    assertThat(sign.exitCode()).as(sign.err()).isZero();
    assertThat(sign.out()).startsWith("issued spiffe://corp.example/ns/shop/sa/cart, valid until ");

    List<X509Certificate> chain = Pem.certificates(Files.readString(cert), "cart.pem");
    List<X509Certificate> roots =
        Pem.certificates(Files.readString(root.resolve("root-cert.pem")), "root");
    assertThat(
            SvidVerifier.of(
                    TrustBundleSet.of(TrustBundle.of(TrustDomain.of("corp.example"), roots)),
                    Clock.systemUTC())
                .problems(chain))
        .isEmpty();
    // The SPIFFE project's own library accepts it too: leaf rules, key match, chain to the root.
    io.spiffe.svid.x509svid.X509Svid parsed =
        io.spiffe.svid.x509svid.X509Svid.parse(
            Files.readAllBytes(cert),
            Pem.encode(keys.getPrivate()).getBytes(StandardCharsets.US_ASCII));
    io.spiffe.svid.x509svid.X509SvidValidator.verifyChain(
        parsed.getChain(),
        new io.spiffe.bundle.x509bundle.X509Bundle(
            io.spiffe.spiffeid.TrustDomain.parse("corp.example"), new HashSet<>(roots)));

    CliRun inspect =
        CliRun.of(
            "ca", "inspect", cert.toString(), "--roots", root.resolve("root-cert.pem").toString());
    assertThat(inspect.exitCode()).as(inspect.out()).isZero();
    assertThat(inspect.out())
        .contains(
            "[0] workload (leaf)",
            "URI SAN:   spiffe://corp.example/ns/shop/sa/cart",
            "[1] intermediate CA",
            "(expires in 23h 59m)",
            "problems: none");
  }

  @Test
  void onboardingRefusesWithEveryProblemAndInstallsNothing() throws Exception {
    Path root = dir.resolve("root");
    Path east = dir.resolve("east");
    Path caDir = dir.resolve("ca");
    CliRun.of("ca", "init", "--out", root.toString());
    CliRun.of(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        root.toString(),
        "--out",
        east.toString());
    Files.writeString(
        east.resolve("ca-key.pem"), Pem.encode(KeyAlgorithm.EC_P256.generate().getPrivate()));
    Files.delete(east.resolve("cert-chain.pem"));

    CliRun onboard =
        CliRun.of(
            "ca",
            "onboard",
            "--cluster",
            "east",
            "--from",
            east.toString(),
            "--ca-dir",
            caDir.toString());

    assertThat(onboard.exitCode()).isEqualTo(1);
    assertThat(onboard.err())
        .contains("fedmesh: refused " + east + " as the CA of cluster east (2 problems):")
        .contains("  - ca-key.pem: does not match the public key of ca-cert.pem")
        .contains("  - cert-chain.pem: missing");
    assertThat(caDir).doesNotExist();
  }

  @Test
  void signingRefusesACaRequestAndWritesNothing() throws Exception {
    Path east = newClusterCa();
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    byte[] der =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=evil"), keys.getPublic())
            .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
            .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()))
            .getEncoded();
    Path csr = dir.resolve("evil.csr");
    Files.writeString(csr, Pem.encodeCsr(der));
    Path out = dir.resolve("evil.pem");

    CliRun sign =
        CliRun.of(
            "ca",
            "sign",
            "--cluster-ca",
            east.toString(),
            "--csr",
            csr.toString(),
            "--namespace",
            "shop",
            "--service-account",
            "cart",
            "--out",
            out.toString());

    assertThat(sign.exitCode()).isEqualTo(1);
    assertThat(sign.err())
        .contains("fedmesh: refused the request in " + csr + ":")
        .contains(
            "  - csr.extensions.basicConstraints: cA=true (expected: no CA request; workload certificates are never CAs)");
    assertThat(out).doesNotExist();
  }

  @Test
  void signingRefusesATtlAboveTheMaximum() throws Exception {
    Path east = newClusterCa();
    Path csr = dir.resolve("cart.csr");
    Files.writeString(csr, Pem.encodeCsr(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate())));

    CliRun sign =
        CliRun.of(
            "ca",
            "sign",
            "--cluster-ca",
            east.toString(),
            "--csr",
            csr.toString(),
            "--namespace",
            "shop",
            "--service-account",
            "cart",
            "--out",
            dir.resolve("cart.pem").toString(),
            "--ttl",
            "48h");

    assertThat(sign.exitCode()).isEqualTo(1);
    assertThat(sign.err()).contains("  - ttl: 48h (expected: <= 24h, this CA's maximum)");
  }

  @Test
  void initNeverOverwritesARootKeyUnlessForced() throws Exception {
    Path root = dir.resolve("root");
    CliRun.of("ca", "init", "--out", root.toString());
    String key = Files.readString(root.resolve("root-key.pem"));

    CliRun again = CliRun.of("ca", "init", "--out", root.toString());

    assertThat(again.exitCode()).isEqualTo(1);
    assertThat(again.err())
        .contains("already holds root-cert.pem, root-key.pem")
        .contains("--force");
    assertThat(Files.readString(root.resolve("root-key.pem"))).isEqualTo(key);
    assertThat(CliRun.of("ca", "init", "--out", root.toString(), "--force").exitCode()).isZero();
    assertThat(Files.readString(root.resolve("root-key.pem"))).isNotEqualTo(key);
  }

  @Test
  void inspectListsProblemsAndFailsForAForeignChain() throws Exception {
    Path east = newClusterCa();
    Path other = dir.resolve("other");
    CliRun.of("ca", "init", "--out", other.toString());

    CliRun inspect =
        CliRun.of(
            "ca",
            "inspect",
            east.resolve("ca-cert.pem").toString(),
            "--roots",
            other.resolve("root-cert.pem").toString());

    assertThat(inspect.exitCode()).isEqualTo(1);
    assertThat(inspect.out())
        .contains("[0] intermediate CA")
        .contains("problems:\n  - chain: does not verify");
  }

  @Test
  void badOptionsAreNamed() {
    CliRun run = CliRun.of("ca", "init", "--out", dir.toString(), "--key-algorithm", "dsa-1024");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains(
            "keyAlgorithm: 'dsa-1024' (expected: one of ec-p256, ec-p384, rsa-2048, rsa-4096)");
  }

  @Test
  void aRootRotationWithTheCommands() throws Exception {
    Path caDir = dir.resolve("ca");
    Path oldRoot = dir.resolve("root-1");
    Path newRoot = dir.resolve("root-2");
    run("ca", "init", "--out", oldRoot.toString());
    run(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        oldRoot.toString(),
        "--out",
        dir.resolve("east-0").toString());
    run(
        "ca",
        "onboard",
        "--cluster",
        "east",
        "--from",
        dir.resolve("east-0").toString(),
        "--ca-dir",
        caDir.toString());
    Path oldChain = signWorkload(caDir.resolve("east"), "old.pem");
    run("ca", "init", "--out", newRoot.toString());

    // 1: hand out both roots (here with a fresh intermediate under the old root).
    run(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        oldRoot.toString(),
        "--out",
        dir.resolve("east-1").toString(),
        "--also-trust",
        newRoot.resolve("root-cert.pem").toString());
    run(
        "ca",
        "onboard",
        "--cluster",
        "east",
        "--from",
        dir.resolve("east-1").toString(),
        "--ca-dir",
        caDir.toString());
    assertThat(Pem.certificates(Files.readString(caDir.resolve("east/root-cert.pem")), "bundle"))
        .hasSize(2);

    // 2: the intermediate moves to the new root; both chains verify against the bundle.
    run(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        newRoot.toString(),
        "--out",
        dir.resolve("east-2").toString(),
        "--also-trust",
        oldRoot.resolve("root-cert.pem").toString());
    run(
        "ca",
        "onboard",
        "--cluster",
        "east",
        "--from",
        dir.resolve("east-2").toString(),
        "--ca-dir",
        caDir.toString());
    Path newChain = signWorkload(caDir.resolve("east"), "new.pem");
    String bundle = caDir.resolve("east/root-cert.pem").toString();
    assertThat(CliRun.of("ca", "inspect", oldChain.toString(), "--roots", bundle).exitCode())
        .isZero();
    assertThat(CliRun.of("ca", "inspect", newChain.toString(), "--roots", bundle).exitCode())
        .isZero();

    // 3: retire the old root.
    run(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        newRoot.toString(),
        "--out",
        dir.resolve("east-3").toString());
    run(
        "ca",
        "onboard",
        "--cluster",
        "east",
        "--from",
        dir.resolve("east-3").toString(),
        "--ca-dir",
        caDir.toString());
    String retired = caDir.resolve("east/root-cert.pem").toString();
    assertThat(Pem.certificates(Files.readString(Path.of(retired)), "bundle")).hasSize(1);
    assertThat(CliRun.of("ca", "inspect", newChain.toString(), "--roots", retired).exitCode())
        .isZero();
    assertThat(CliRun.of("ca", "inspect", oldChain.toString(), "--roots", retired).exitCode())
        .isEqualTo(1);
  }

  private Path signWorkload(Path ca, String name) throws Exception {
    Path csr = dir.resolve(name + ".csr");
    Files.writeString(csr, Pem.encodeCsr(WorkloadCsr.create(KeyAlgorithm.EC_P256.generate())));
    Path out = dir.resolve(name);
    run(
        "ca",
        "sign",
        "--cluster-ca",
        ca.toString(),
        "--csr",
        csr.toString(),
        "--namespace",
        "shop",
        "--service-account",
        "cart",
        "--out",
        out.toString());
    return out;
  }

  private static void run(String... args) {
    CliRun run = CliRun.of(args);
    assertThat(run.exitCode()).as("fedmesh %s: %s", String.join(" ", args), run.err()).isZero();
  }

  private Path newClusterCa() {
    Path root = dir.resolve("root");
    Path east = dir.resolve("east");
    CliRun.of("ca", "init", "--out", root.toString());
    CliRun.of(
        "ca",
        "intermediate",
        "--cluster",
        "east",
        "--root",
        root.toString(),
        "--out",
        east.toString());
    return east;
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }
}
