package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every shell script of the repository passes shellcheck: found by name ({@code *.sh}) or by a
 * shell shebang, wherever it lives (scripts/, the fedmesh wrapper, benchmarks/, .ci/run, and
 * kind-configs/ once it exists), so a script added later is checked without touching this test.
 *
 * <p>Warnings and errors fail; shellcheck's info and style notes do not. The wrapper and the
 * benchmark scripts split {@code $FEDMESH_JAVA_OPTS} and {@code $MAVEN_OFFLINE} into words on
 * purpose (several JVM options, or none), which is info-level SC2086.
 */
class ShellScriptsTest {
  private static final Pattern SHELL_SHEBANG =
      Pattern.compile("^#!\\s*(/usr/bin/env\\s+(-S\\s+)?)?(/bin/|/usr/bin/)?(ba|da|k)?sh(\\s.*)?$");

  /** Directories that hold no scripts of ours. */
  private static final Set<String> SKIPPED =
      Set.of(".git", "target", "node_modules", ".fedmesh-lab", ".idea");

  @Test
  void everyShellScriptPassesShellcheck() throws Exception {
    List<Path> scripts = scripts(RepoFiles.root());
    assertThat(scripts)
        .extracting(p -> RepoFiles.root().relativize(p).toString())
        .contains(
            "scripts/install-deps.sh",
            "fedmesh",
            "benchmarks/run-sidecar-bench.sh",
            "benchmarks/run-gateway-bench.sh",
            "benchmarks/run-lab-latency.sh");

    List<String> command = new ArrayList<>();
    command.add(shellcheck().toString());
    command.add("--severity=warning");
    command.add("--external-sources");
    command.add("--format=gcc");
    scripts.forEach(p -> command.add(RepoFiles.root().relativize(p).toString()));
    Process process = new ProcessBuilder(command).directory(RepoFiles.root().toFile()).start();
    CompletableFuture<String> stderr =
        CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
    String findings = read(process.getInputStream());
    assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("shellcheck finished").isTrue();
    assertThat(findings + stderr.join())
        .as("shellcheck findings in %d scripts", scripts.size())
        .isEmpty();
    assertThat(process.exitValue()).isZero();
  }

  private static Path shellcheck() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "shellcheck");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return fail(
        "shellcheck is not installed: every shell script of the repository is checked with it."
            + " scripts/install-deps.sh installs it (Debian's shellcheck).");
  }

  /** Files named *.sh, and files whose first line is a sh/bash/dash shebang. */
  static List<Path> scripts(Path root) throws IOException {
    List<Path> scripts = new ArrayList<>();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
            return !dir.equals(root) && SKIPPED.contains(dir.getFileName().toString())
                ? FileVisitResult.SKIP_SUBTREE
                : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
            if (attributes.isRegularFile()
                && (file.getFileName().toString().endsWith(".sh") || hasShellShebang(file))) {
              scripts.add(file);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    scripts.sort(null);
    return scripts;
  }

  private static boolean hasShellShebang(Path file) {
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
      String first = reader.readLine();
      return first != null && SHELL_SHEBANG.matcher(first.strip()).matches();
    } catch (IOException e) {
      return false;
    }
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
