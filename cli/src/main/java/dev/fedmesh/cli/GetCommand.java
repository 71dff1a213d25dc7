package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.policy.PolicyKind;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh get KIND [NAME]}: stored policies, with whether every connected proxy holds the
 * config that carries them.
 */
@Command(
    name = "get",
    mixinStandardHelpOptions = true,
    description =
        "Lists stored policies of a kind (or 'all'), with their resourceVersion, generation and"
            + " how many connected proxies hold the config that carries them.")
final class GetCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ControllerOptions controller = new ControllerOptions();

  @Mixin OutputOptions output = new OutputOptions();

  @Parameters(
      index = "0",
      paramLabel = "KIND",
      description = "A policy kind (vs, dr, meshconfig, ...) or all.")
  String kind;

  @Parameters(index = "1", arity = "0..1", paramLabel = "NAME", description = "One policy's name.")
  String name;

  @Option(
      names = {"-n", "--namespace"},
      defaultValue = "default",
      description = "Namespace (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(
      names = {"-A", "--all-namespaces"},
      description = "Every namespace.")
  boolean allNamespaces;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String kindName = "";
    if (!kind.equals("all")) {
      Optional<PolicyKind> found = PolicyKind.named(kind);
      if (found.isEmpty()) {
        err.println("KIND: '" + kind + "' (expected: " + kindNames() + " or all)");
        err.flush();
        return 1;
      }
      kindName = found.get().kind();
    }
    // Mesh-wide kinds (MeshConfig) are listed whatever the namespace.
    String ns = allNamespaces ? "" : namespace;
    AdminClient.PolicyAnswer answer =
        controller.client().policies(kindName, ns, name == null ? "" : name);
    if (!answer.ok()) {
      answer.body().path("errors").forEach(e -> err.println(e.asText()));
      err.flush();
      return 1;
    }
    ArrayNode items = (ArrayNode) answer.body().path("items");
    if (items.isEmpty()) {
      err.println(
          "no "
              + (kindName.isEmpty() ? "policies" : kindName + "s")
              + (name == null ? "" : " named " + name)
              + (ns.isEmpty() ? "" : " in namespace " + ns));
      err.flush();
      return name == null ? 0 : 1;
    }
    ObjectMapper json = new ObjectMapper();
    ArrayNode documents = json.createArrayNode();
    items.forEach(item -> documents.add(item.path("document")));
    if (output.printStructured(
        name != null && documents.size() == 1 ? documents.get(0) : documents, out)) {
      return 0;
    }
    out.printf(
        "%-14s %-16s %-24s %-10s %-4s %s%n",
        "KIND", "NAMESPACE", "NAME", "REVISION", "GEN", "PROXIES SYNCED");
    for (JsonNode item : items) {
      JsonNode metadata = item.path("document").path("metadata");
      JsonNode status = item.path("status");
      out.printf(
          "%-14s %-16s %-24s %-10s %-4s %s%n",
          item.path("document").path("kind").asText(),
          metadata.path("namespace").asText("-"),
          metadata.path("name").asText(),
          metadata.path("resourceVersion").asText(),
          metadata.path("generation").asText(),
          status.path("inMesh").asBoolean()
              ? status.path("proxiesSynced").asInt() + "/" + status.path("proxies").asInt()
              : "not yet in the mesh model");
    }
    out.flush();
    return 0;
  }

  static String kindNames() {
    return String.join(", ", Arrays.stream(PolicyKind.values()).map(PolicyKind::kind).toList());
  }
}
