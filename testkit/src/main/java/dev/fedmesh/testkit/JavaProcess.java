package dev.fedmesh.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A main class run in its own JVM on the test's class path, so that a test can {@code kill -9} it
 * for real. Output goes to a log file whose tail {@link #logTail()} returns for failure messages.
 */
public final class JavaProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private JavaProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  public static JavaProcess start(String name, Path logDir, String mainClass, List<String> args) {
    return start(name, logDir, mainClass, args, List.of());
  }

  /** Like {@link #start(String, Path, String, List)}, with extra JVM options (later ones win). */
  public static JavaProcess start(
      String name, Path logDir, String mainClass, List<String> args, List<String> jvmOptions) {
    return start(name, logDir, System.getProperty("java.class.path"), mainClass, args, jvmOptions);
  }

  /** Like {@link #start(String, Path, String, List)}, on a class path of the test's choosing. */
  public static JavaProcess start(
      String name, Path logDir, String classPath, String mainClass, List<String> args) {
    return start(name, logDir, classPath, mainClass, args, List.of());
  }

  private static JavaProcess start(
      String name,
      Path logDir,
      String classPath,
      String mainClass,
      List<String> args,
      List<String> jvmOptions) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-Dfedmesh.log.level=INFO");
    // fabric8's client and mock API server run on vert.x, which otherwise makes a directory in
    // /tmp for each process (for files served from the class path, which nothing here needs) and
    // leaves it there when the process is killed.
    command.add("-Dvertx.disableFileCPResolving=true");
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classPath);
    command.add(mainClass);
    command.addAll(args);
    Path log = logDir.resolve(name + ".log");
    try {
      Files.createDirectories(logDir);
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      JavaProcess started = new JavaProcess(name, process, log);
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
      return started;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** {@code kill -9}, and wait until it is gone. */
  public void kill() {
    ProcessControl.kill(process.toHandle());
  }

  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    ProcessControl.stop(process.toHandle(), Duration.ofSeconds(5));
  }
}
