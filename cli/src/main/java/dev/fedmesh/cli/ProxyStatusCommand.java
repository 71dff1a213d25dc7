package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code fedmesh proxy-status}: what each connected proxy was sent and what it answered. */
@Command(
    name = "proxy-status",
    mixinStandardHelpOptions = true,
    description =
        "Shows each proxy's xDS state per type: SYNCED, NOT SENT, STALE (sent, not yet"
            + " acknowledged) or NACKED (rejected, with the proxy's reason).")
final class ProxyStatusCommand implements Callable<Integer> {
  private static final List<String> TYPES =
      List.of(
          "envoy.config.cluster.v3.Cluster",
          "envoy.config.listener.v3.Listener",
          "envoy.config.endpoint.v3.ClusterLoadAssignment",
          "envoy.config.route.v3.RouteConfiguration");
  private static final String TYPE_PREFIX = "type.googleapis.com/";

  @Spec CommandSpec spec;
  @Mixin ControllerOptions options = new ControllerOptions();
  @Mixin OutputOptions output = new OutputOptions();

  @Override
  public Integer call() throws Exception {
    JsonNode proxies = options.client().proxies();
    PrintWriter out = spec.commandLine().getOut();
    if (output.printStructured(proxies, out)) {
      return 0;
    }
    out.printf("%-32s %-36s %-9s %-9s %-9s %-9s%n", "NAME", "GROUP", "CDS", "LDS", "EDS", "RDS");
    List<String> errors = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> entries = proxies.fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> proxy = entries.next();
      List<String> states = new ArrayList<>();
      for (String type : TYPES) {
        JsonNode status = proxy.getValue().path("types").path(TYPE_PREFIX + type);
        String state = state(status);
        states.add(state);
        if (state.equals("NACKED")) {
          errors.add(
              proxy.getKey()
                  + " rejected "
                  + type.substring(type.lastIndexOf('.') + 1)
                  + " version "
                  + status.path("nackedVersion").asText()
                  + ": "
                  + status.path("nackError").asText());
        }
      }
      out.printf(
          "%-32s %-36s %-9s %-9s %-9s %-9s%n",
          proxy.getKey(),
          proxy.getValue().path("group").asText(),
          states.get(0),
          states.get(1),
          states.get(2),
          states.get(3));
    }
    if (!proxies.fields().hasNext()) {
      out.println("(no proxy is connected to this controller replica)");
    }
    if (!errors.isEmpty()) {
      out.println();
      errors.forEach(out::println);
    }
    out.flush();
    return 0;
  }

  /** Mirrors the controller's rule (ProxyStatus.TypeStatus#state). */
  private static String state(JsonNode status) {
    if (status.isMissingNode() || status.path("sentVersion").asText().isEmpty()) {
      return "NOT SENT";
    }
    String sent = status.path("sentVersion").asText();
    if (sent.equals(status.path("nackedVersion").asText())) {
      return "NACKED";
    }
    return sent.equals(status.path("ackedVersion").asText()) ? "SYNCED" : "STALE";
  }
}
