package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Debian's {@code openssl} as a process, the way an operator would check a certificate. */
final class Openssl {
  private Openssl() {}

  record Result(int exitCode, String output) {}

  static Path binary() {
    Path debian = Path.of("/usr/bin/openssl");
    if (Files.isExecutable(debian)) {
      return debian;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir, "openssl");
      if (!dir.isEmpty() && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return fail(
        "openssl is missing: these tests check certificates with the openssl command; install"
            + " Debian's openssl package (scripts/install-deps.sh does)");
  }

  static Result run(Path workDir, String... arguments) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(List.of(arguments));
    Process process =
        new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    try {
      process.getOutputStream().close();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        fail("openssl " + String.join(" ", arguments) + " did not finish within 60 s");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return new Result(process.exitValue(), output.trim());
    } finally {
      process.destroyForcibly();
    }
  }

  static void runOrFail(Path workDir, String... arguments) throws Exception {
    Result result = run(workDir, arguments);
    assertThat(result.exitCode())
        .as("openssl %s: %s", String.join(" ", arguments), result.output())
        .isZero();
  }

  /**
   * {@code openssl verify -x509_strict -purpose <purpose>} of the SVID's leaf, with its
   * intermediates untrusted and {@code roots} as the only trust anchors.
   */
  static Result verify(Path dir, List<X509Certificate> roots, X509Svid svid, String purpose)
      throws Exception {
    Files.writeString(dir.resolve("roots.pem"), Pem.encode(roots));
    Files.writeString(dir.resolve("leaf.pem"), Pem.encode(List.of(svid.leaf())));
    List<X509Certificate> intermediates = svid.chain().subList(1, svid.chain().size());
    List<String> arguments =
        new ArrayList<>(List.of("verify", "-x509_strict", "-purpose", purpose));
    arguments.addAll(List.of("-CAfile", "roots.pem"));
    if (!intermediates.isEmpty()) {
      Files.writeString(dir.resolve("chain.pem"), Pem.encode(intermediates));
      arguments.addAll(List.of("-untrusted", "chain.pem"));
    }
    arguments.add("leaf.pem");
    return run(dir, arguments.toArray(String[]::new));
  }

  /** Both TLS purposes pass. */
  static void assertAccepted(Path dir, List<X509Certificate> roots, X509Svid svid)
      throws Exception {
    for (String purpose : List.of("sslclient", "sslserver")) {
      Result result = verify(dir, roots, svid, purpose);
      assertThat(result.output())
          .as("openssl verify -x509_strict -purpose %s of %s", purpose, svid.id())
          .isEqualTo("leaf.pem: OK");
      assertThat(result.exitCode()).isZero();
    }
  }
}
