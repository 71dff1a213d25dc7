package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** The {@code -o table|yaml|json} option of commands that print what they found. */
final class OutputOptions {
  /** How a command prints what it found. */
  enum Format {
    table,
    yaml,
    json
  }

  @Option(
      names = {"-o", "--output"},
      defaultValue = "table",
      description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
  Format output;

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
