package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ca commands with CSRs made by openssl, and their output checked by openssl. */
class CaCommandIT {
  @TempDir Path dir;

  @Test
  void signsAnOpensslCsrIntoACertificateOpensslAcceptsForClientsAndServers() throws Exception {
    Path east = clusterCa("--name-constraints");
    openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "cart-key.pem",
        "-subj",
        "/CN=cart",
        "-addext",
        "subjectAltName=URI:spiffe://fedmesh.local/ns/shop/sa/cart",
        "-out",
        "cart.csr");

    CliRun sign = sign(east, "cart.csr", "cart.pem");

    assertThat(sign.exitCode()).as(sign.err()).isZero();
    Files.writeString(
        dir.resolve("leaf.pem"), firstCertificate(Files.readString(dir.resolve("cart.pem"))));
    for (String purpose : List.of("sslclient", "sslserver")) {
      String verified =
          openssl(
              "verify",
              "-x509_strict",
              "-purpose",
              purpose,
              "-CAfile",
              dir.resolve("root/root-cert.pem").toString(),
              "-untrusted",
              "cart.pem",
              "leaf.pem");
      assertThat(verified).isEqualTo("leaf.pem: OK");
    }
    String text =
        openssl(
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "subjectAltName,basicConstraints,keyUsage,extendedKeyUsage");
    assertThat(text)
        .contains("URI:spiffe://fedmesh.local/ns/shop/sa/cart")
        .contains("CA:FALSE")
        .contains("Digital Signature")
        .contains("TLS Web Server Authentication, TLS Web Client Authentication");
  }

  @Test
  void refusesAnOpensslCsrForAnotherIdentityOrAWeakKey() throws Exception {
    Path east = clusterCa();
    openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k1.pem",
        "-subj",
        "/CN=cart",
        "-addext",
        "subjectAltName=URI:spiffe://fedmesh.local/ns/kube-system/sa/admin",
        "-out",
        "admin.csr");
    openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        "k2.pem",
        "-subj",
        "/CN=cart",
        "-out",
        "weak.csr");

    CliRun admin = sign(east, "admin.csr", "admin.pem");
    CliRun weak = sign(east, "weak.csr", "weak.pem");

    assertThat(admin.exitCode()).isEqualTo(1);
    assertThat(admin.err())
        .contains(
            "  - csr.subjectAltName: spiffe://fedmesh.local/ns/kube-system/sa/admin (expected: the caller's"
                + " own SPIFFE ID spiffe://fedmesh.local/ns/shop/sa/cart)");
    assertThat(weak.exitCode()).isEqualTo(1);
    assertThat(weak.err())
        .contains("  - csr.key: RSA 1024 bits (expected: RSA >= 2048 or ECDSA P-256/P-384)");
    assertThat(dir.resolve("admin.pem")).doesNotExist();
    assertThat(dir.resolve("weak.pem")).doesNotExist();
  }

  private Path clusterCa(String... intermediateOptions) {
    Path root = dir.resolve("root");
    Path east = dir.resolve("east");
    assertThat(CliRun.of("ca", "init", "--out", root.toString()).exitCode()).isZero();
    List<String> args =
        new ArrayList<>(
            List.of(
                "ca",
                "intermediate",
                "--cluster",
                "east",
                "--root",
                root.toString(),
                "--out",
                east.toString()));
    args.addAll(List.of(intermediateOptions));
    assertThat(CliRun.of(args.toArray(String[]::new)).exitCode()).isZero();
    return east;
  }

  private CliRun sign(Path ca, String csr, String out) {
    return CliRun.of(
        "ca",
        "sign",
        "--cluster-ca",
        ca.toString(),
        "--csr",
        dir.resolve(csr).toString(),
        "--namespace",
        "shop",
        "--service-account",
        "cart",
        "--out",
        dir.resolve(out).toString());
  }

  private static String firstCertificate(String pem) {
    int end = pem.indexOf("-----END CERTIFICATE-----") + "-----END CERTIFICATE-----".length();
    return pem.substring(0, end) + "\n";
  }

  private String openssl(String... arguments) throws Exception {
    Path binary = Path.of("/usr/bin/openssl");
    if (!Files.isExecutable(binary)) {
      fail("openssl is missing: install Debian's openssl package (scripts/install-deps.sh does)");
    }
    List<String> command = new ArrayList<>(List.of(binary.toString()));
    command.addAll(List.of(arguments));
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    try {
      process.getOutputStream().close();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        fail("openssl " + String.join(" ", arguments) + " did not finish within 60 s");
      }
      String output =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      assertThat(process.exitValue())
          .as("openssl %s: %s", String.join(" ", arguments), output)
          .isZero();
      return output;
    } finally {
      process.destroyForcibly();
    }
  }
}
