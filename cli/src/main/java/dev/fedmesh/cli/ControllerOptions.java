package dev.fedmesh.cli;

import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.util.Optional;
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

  @Option(
      names = "--ca-file",
      description =
          "PEM roots the controller's certificate chains to: its admin API is then reached over"
              + " TLS, as a controller running the control plane with TLS serves it (default: the"
              + " lab's, when .fedmesh-lab has them).")
  Path caFile;

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
    Optional<Path> roots =
        caFile != null ? Optional.of(caFile) : LocalLab.adminRoots(Path.of(".fedmesh-lab"));
    if (caFile != null && !java.nio.file.Files.isReadable(caFile)) {
      throw new java.io.IOException("--ca-file: '" + caFile + "' (expected: a readable PEM file)");
    }
    return new AdminClient(
        adminAddress(),
        token,
        roots.isPresent() ? Optional.of(AdminClient.roots(roots.get())) : Optional.empty());
  }

  String adminAddress() {
    if (controller != null) {
      return controller;
    }
    return LocalLab.controllerAdmin(Path.of(".fedmesh-lab")).orElse("127.0.0.1:15014");
  }
}
