package dev.fedmesh.cli;

import dev.fedmesh.controller.admin.AdminClient;
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

  @Option(
      names = "--admin-token-file",
      description =
          "File holding the controller's admin token (default: the lab's .fedmesh-lab/admin-token,"
              + " which 'lab up' writes with mode 0600).")
  Path adminTokenFile;

  /** A client of the admin API, presenting the admin token when one is found. */
  AdminClient client() throws java.io.IOException {
    String token;
    if (adminTokenFile != null) {
      if (!java.nio.file.Files.isReadable(adminTokenFile)) {
        throw new java.io.IOException(
            "--admin-token-file: '" + adminTokenFile + "' (expected: a readable file)");
      }
      token = java.nio.file.Files.readString(adminTokenFile).strip();
    } else {
      token = LocalLab.adminToken(Path.of(".fedmesh-lab")).orElse("");
    }
    return new AdminClient(adminAddress(), token);
  }

  String adminAddress() {
    if (controller != null) {
      return controller;
    }
    return LocalLab.controllerAdmin(Path.of(".fedmesh-lab")).orElse("127.0.0.1:15014");
  }
}
