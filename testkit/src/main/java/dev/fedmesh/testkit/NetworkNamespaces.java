package dev.fedmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the root-only tests that build "pods" out of network namespaces share: running commands (in
 * a namespace or not) with a bound on their time, the test's class path made readable to the
 * proxy's unprivileged user, an HTTP GET to a port inside a namespace, and the management veth by
 * which a namespace's processes reach the test's own servers.
 */
public final class NetworkNamespaces {
  private NetworkNamespaces() {}

  /** A finished command: its exit code (-1 when it timed out) and its output, trimmed. */
  public record Result(int exit, String output) {}

  /** Runs {@code command}, its output and errors together, killed after {@code timeout}. */
  public static Result run(List<String> command, Duration timeout) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getOutputStream().close();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        ProcessControl.kill(process.toHandle());
        return new Result(-1, "timed out: " + String.join(" ", command));
      }
      return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs {@code command}; fails the test with its output when it does not exit 0. */
  public static void sh(String... command) {
    Result result = run(List.of(command), Duration.ofSeconds(30));
    if (result.exit() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + result.output());
    }
  }

  /** {@code command} run inside network namespace {@code ns}. */
  public static List<String> in(String ns, List<String> command) {
    List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    all.addAll(command);
    return all;
  }

  /**
   * A GET of {@code path} from {@code 127.0.0.1:port} inside {@code ns}, through bash's {@code
   * /dev/tcp} (the quickest HTTP client to start in a namespace): the whole response, headers
   * included, or empty when nothing answered.
   */
  public static String get(String ns, int port, String path) {
    Result result =
        run(
            in(
                ns,
                List.of(
                    "bash",
                    "-c",
                    "exec 3<>/dev/tcp/127.0.0.1/"
                        + port
                        + " && printf 'GET %s HTTP/1.0\\r\\n\\r\\n' \"$1\" >&3 && cat <&3",
                    "get",
                    path)),
            Duration.ofSeconds(10));
    return result.exit() == 0 ? result.output() : "";
  }

  /**
   * A veth from the root namespace into {@code ns} on the /30 number {@code index} of {@code
   * 198.18.128.0/17} (names made unique by {@code suffix}); with {@code routeRange}, {@code ns}
   * also routes that range through it (to reach the test's servers on other management links).
   * Returns the root side's address, where the test's servers listen for that namespace.
   */
  public static String managementLink(String ns, int index, String suffix, String routeRange) {
    String host = "198.18." + (128 + index / 64) + "." + (4 * (index % 64) + 1);
    String pod = "198.18." + (128 + index / 64) + "." + (4 * (index % 64) + 2);
    String rootEnd = "vm" + index + suffix;
    String podEnd = "vp" + index + suffix;
    sh("ip", "link", "add", rootEnd, "type", "veth", "peer", "name", podEnd, "netns", ns);
    sh("ip", "addr", "add", host + "/30", "dev", rootEnd);
    sh("ip", "link", "set", rootEnd, "up");
    sh("ip", "-n", ns, "addr", "add", pod + "/30", "dev", podEnd);
    sh("ip", "-n", ns, "link", "set", podEnd, "up");
    if (routeRange != null) {
      sh("ip", "-n", ns, "route", "add", routeRange, "via", host);
    }
    return host;
  }

  /**
   * The running JVM's class path where another user (the proxy's uid) can read it: jars under a
   * private home directory are hard-linked (copied across file systems) into {@code lib};
   * directories are used in place.
   */
  public static String readableClassPath(Path lib) throws IOException {
    Files.createDirectories(lib);
    Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
    List<String> entries = new ArrayList<>();
    int i = 0;
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path path = Path.of(entry);
      if (!Files.isRegularFile(path)) {
        entries.add(entry);
        continue;
      }
      Path target = lib.resolve((i++) + "-" + path.getFileName());
      boolean linked = false;
      if (Files.getPosixFilePermissions(path).contains(PosixFilePermission.OTHERS_READ)) {
        try {
          Files.createLink(target, path);
          linked = true;
        } catch (IOException | UnsupportedOperationException e) {
          // another file system: copy
        }
      }
      if (!linked) {
        Files.copy(path, target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
      }
      entries.add(target.toString());
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  /** The last {@code lines} lines of a log file, for a failure's message. */
  public static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
