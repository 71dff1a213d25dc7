package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh analyze}: what the controller finds wrong with the mesh's policies and services
 * (coded findings such as FM001 UnknownHost), or, with {@code --agent}, what cluster agents found
 * wrong in their clusters' configuration, such as service ports whose protocol the mesh cannot tell
 * (and so treats as opaque TCP).
 */
@Command(
    name = "analyze",
    mixinStandardHelpOptions = true,
    description =
        "Lists the controller's findings about policies and services (unknown hosts, unused or"
            + " empty subsets, conflicts, exported services without endpoints, failover regions"
            + " no cluster has), or with --agent the findings of cluster agents. Exits 2 when"
            + " there are findings.")
final class AnalyzeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin OutputOptions options = new OutputOptions();

  @Mixin ControllerOptions controller = new ControllerOptions();

  @Option(
      names = "--agent",
      split = ",",
      description = "Status addresses host:port of the agents to ask (comma-separated).")
  List<String> agents;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (agents == null || agents.isEmpty()) {
      return mesh(out);
    }
    ObjectMapper json = new ObjectMapper();
    var report = json.createArrayNode();
    for (String agent : agents) {
      JsonNode status = status(agent);
      var entry = report.addObject();
      entry.put("agent", agent);
      entry.put("cluster", status.path("cluster").asText());
      entry.set("findings", status.path("findings"));
    }
    int findings = 0;
    for (JsonNode entry : report) {
      findings += entry.path("findings").size();
    }
    if (options.printStructured(report, out)) {
      return findings == 0 ? 0 : 2;
    }
    if (findings == 0) {
      out.println("no findings");
      out.flush();
      return 0;
    }
    out.printf("%-12s %-22s %-32s %-6s %s%n", "CLUSTER", "KIND", "SERVICE", "PORT", "MESSAGE");
    for (JsonNode entry : report) {
      for (JsonNode finding : entry.path("findings")) {
        out.printf(
            "%-12s %-22s %-32s %-6s %s%n",
            entry.path("cluster").asText(),
            finding.path("kind").asText(),
            finding.path("namespace").asText() + "/" + finding.path("name").asText(),
            finding.path("port").asInt() == 0 ? "-" : finding.path("port").asText(),
            finding.path("message").asText());
      }
    }
    out.flush();
    return 2;
  }

  /** The controller's findings about policies and services. */
  private int mesh(PrintWriter out) throws Exception {
    JsonNode findings = controller.client().analyze().path("findings");
    if (options.printStructured(findings, out)) {
      return findings.isEmpty() ? 0 : 2;
    }
    if (findings.isEmpty()) {
      out.println("no findings");
      out.flush();
      return 0;
    }
    out.printf("%-6s %-26s %-44s %s%n", "CODE", "KIND", "SUBJECT", "MESSAGE");
    for (JsonNode finding : findings) {
      String path = finding.path("path").asText();
      out.printf(
          "%-6s %-26s %-44s %s%n",
          finding.path("code").asText(),
          finding.path("name").asText(),
          finding.path("subject").asText(),
          (path.isEmpty() ? "" : path + ": ") + finding.path("message").asText());
    }
    out.flush();
    return 2;
  }

  private static JsonNode status(String agent) throws IOException, InterruptedException {
    URI uri = URI.create("http://" + agent + "/status");
    try {
      HttpResponse<String> response =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .build()
              .send(
                  HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException(uri + ": HTTP " + response.statusCode());
      }
      return new ObjectMapper().readTree(response.body());
    } catch (IOException e) {
      throw new IOException(
          "cannot reach the agent's status port at "
              + agent
              + " ("
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
              + "); start the agent with --status-address",
          e);
    }
  }
}
