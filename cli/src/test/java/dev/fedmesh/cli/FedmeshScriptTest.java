package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./fedmesh} launcher rebuilds its jars when a source or pom is newer than them, so a
 * user never runs old code after a {@code git pull}. Runs the real script in a copy of the tree's
 * shape, with stand-ins for Maven and Java that only record that they ran.
 */
class FedmeshScriptTest {
  @TempDir Path root;

  @Test
  void rebuildsOnlyWhenASourceOrPomIsNewerThanTheJars() throws Exception {
    Files.copy(Path.of("..", "fedmesh"), root.resolve("fedmesh"));
    executable(root.resolve("fedmesh"));
    Path bin = Files.createDirectories(root.resolve("bin"));
    Path builds = root.resolve("builds.log");
    script(bin.resolve("mvn"), "echo build >> '" + builds + "'");
    script(bin.resolve("java"), "echo java ran");
    script(bin.resolve("etcd"), "true");
    Path source = file("proxy/src/main/java/Proxy.java", Instant.now().minusSeconds(3600));
    file("pom.xml", Instant.now().minusSeconds(3600));
    file("chaos-tests/src/main/java/NotPartOfTheJars.java", Instant.now());
    file("cli/target/fedmesh-cli.jar", Instant.now().minusSeconds(60));
    file("lab-cluster/target/lab-cluster.jar", Instant.now().minusSeconds(60));

    Run upToDate = run(bin);
    assertThat(upToDate.stderr()).doesNotContain("building");
    assertThat(upToDate.stdout()).contains("java ran");
    assertThat(Files.exists(builds)).as("Maven ran for up-to-date jars").isFalse();

    Files.setLastModifiedTime(source, FileTime.from(Instant.now()));
    Run stale = run(bin);
    assertThat(stale.stderr())
        .contains("building the fedmesh jars (proxy/src/main/java/Proxy.java is newer");
    assertThat(Files.readAllLines(builds)).hasSize(1);

    Run again = run(bin);
    assertThat(again.stderr()).as("the rebuilt jars count as fresh").doesNotContain("building");
    assertThat(Files.readAllLines(builds)).hasSize(1);

    Files.delete(root.resolve("lab-cluster/target/lab-cluster.jar"));
    assertThat(run(bin).stderr()).contains("building the fedmesh jars (first run");
  }

  private record Run(String stdout, String stderr) {}

  private Run run(Path bin) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(root.resolve("fedmesh").toString(), "--version");
    builder.environment().put("PATH", bin + ":/usr/bin:/bin");
    builder.environment().remove("FEDMESH_REBUILD");
    builder.environment().put("FEDMESH_MVN", bin.resolve("mvn").toString());
    Process process = builder.start();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the script finished").isTrue();
    return new Run(
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private Path file(String relative, Instant modified) throws IOException {
    Path path = root.resolve(relative);
    Files.createDirectories(path.getParent());
    Files.writeString(path, "x");
    Files.setLastModifiedTime(path, FileTime.from(modified));
    return path;
  }

  private static void script(Path path, String body) throws IOException {
    Files.writeString(path, "#!/bin/sh\n" + body + "\n");
    executable(path);
  }

  private static void executable(Path path) throws IOException {
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
