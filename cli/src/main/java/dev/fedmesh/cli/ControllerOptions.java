package dev.fedmesh.cli;

import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by commands that ask a controller replica's admin API. */
final class ControllerOptions {
  @Option(
      names = "--controller",
      description =
          "The controller's admin address host:port (default: the lab's in .fedmesh-lab, else"
              + " 127.0.0.1:15014).")
  String controller;

  String adminAddress() {
    if (controller != null) {
      return controller;
    }
    return LocalLab.controllerAdmin(Path.of(".fedmesh-lab")).orElse("127.0.0.1:15014");
  }
}
