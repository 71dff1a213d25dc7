package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.fedmesh.lab.LocalLab;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by commands that ask a controller replica's admin API. */
final class ControllerOptions {
  /** How a command prints what it found. */
  enum Format {
    table,
    yaml,
    json
  }

  @Option(
      names = "--controller",
      description =
          "The controller's admin address host:port (default: the lab's in .fedmesh-lab, else"
              + " 127.0.0.1:15014).")
  String controller;

  @Option(
      names = {"-o", "--output"},
      defaultValue = "table",
      description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
  Format output;

  String adminAddress() {
    if (controller != null) {
      return controller;
    }
    return LocalLab.controllerAdmin(Path.of(".fedmesh-lab")).orElse("127.0.0.1:15014");
  }

  /** Prints {@code document} as YAML or JSON; returns false when the table format is wanted. */
  boolean printStructured(JsonNode document, PrintWriter out) throws Exception {
    switch (output) {
      case json ->
          out.println(
              new ObjectMapper()
                  .enable(SerializationFeature.INDENT_OUTPUT)
                  .writeValueAsString(document));
      case yaml ->
          out.print(
              new ObjectMapper(
                      new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER))
                  .writeValueAsString(document));
      default -> {
        return false;
      }
    }
    out.flush();
    return true;
  }
}
