package dev.fedmesh.lab;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts lab processes detached from the terminal (in their own session, with {@code setsid} where
 * it exists), output to a log file, so they outlive the {@code fedmesh} command that started them
 * and ignore the terminal's Ctrl-C.
 */
final class ProcessLauncher {
  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private ProcessLauncher() {}

  static ProcessHandle start(List<String> command, Path log) throws IOException {
    Files.createDirectories(log.getParent());
    List<String> full = new ArrayList<>();
    if (Files.isExecutable(SETSID)) {
      full.add(SETSID.toString());
    }
    full.addAll(command);
    Process process =
        new ProcessBuilder(full)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    return process.toHandle();
  }

  /** A command that runs {@code mainClass} in a new JVM on this JVM's class path. */
  static List<String> java(String mainClass, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // Small, quick-starting JVMs: the lab runs many processes on a small machine.
    command.add("-Xms32m");
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-Dfedmesh.log.level=INFO");
    command.add(ClusterHostLauncher.NO_VERTX_CACHE);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(args);
    return command;
  }
}
