package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.policy.PolicyDocuments;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh apply -f}: checks policy documents here, then has the controller check them
 * against everything stored and write them all in one transaction, or none.
 */
@Command(
    name = "apply",
    mixinStandardHelpOptions = true,
    description =
        "Applies policy documents to the whole mesh at once: all of them or, on any error, none."
            + " Errors are printed as FILE:DOC_INDEX: PATH: message; exits 1 when there is any.")
final class ApplyCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Mixin PolicyFiles files = new PolicyFiles();

  @Mixin ControllerOptions controller = new ControllerOptions();

  @Option(
      names = "--dry-run",
      description = "Check everything, the controller's checks included, but write nothing.")
  boolean dryRun;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<PolicyDocuments.Result> results = files.read(System.in);
    ValidateCommand.Checked checked = ValidateCommand.check(results, false);
    checked.errors().forEach(err::println);
    if (checked.failed()) {
      err.println("nothing applied: " + checked.errorCount() + " error(s)");
      err.flush();
      return 1;
    }
    if (checked.documents() == 0) {
      err.println("nothing applied: no documents");
      err.flush();
      return 1;
    }
    AdminClient.PolicyAnswer answer = controller.client().applyPolicies(request(results, dryRun));
    return PolicyOutput.print(answer, dryRun, out, err);
  }

  /**
   * The request body of an apply (and of a diff's dry run) of every document of {@code results}.
   */
  static ObjectNode request(List<PolicyDocuments.Result> results, boolean dryRun) {
    ObjectNode request = JSON.createObjectNode();
    request.put("dryRun", dryRun);
    ArrayNode documents = request.putArray("documents");
    for (PolicyDocuments.Result result : results) {
      for (PolicyDocuments.Document document : result.documents()) {
        ObjectNode entry = documents.addObject();
        entry.put("source", document.source());
        entry.put("index", document.index());
        entry.set("document", document.json());
      }
    }
    return request;
  }

  /** Prints a policy answer as kubectl prints its own. */
  static final class PolicyOutput {
    private PolicyOutput() {}

    static int print(
        AdminClient.PolicyAnswer answer, boolean dryRun, PrintWriter out, PrintWriter err) {
      JsonNode body = answer.body();
      for (JsonNode warning : body.path("warnings")) {
        err.println(warning.asText());
      }
      if (!answer.ok()) {
        for (JsonNode error : body.path("errors")) {
          err.println(error.asText());
        }
        err.println(
            "nothing "
                + (dryRun ? "would be " : "")
                + "written (controller answered HTTP "
                + answer.status()
                + ")");
        err.flush();
        out.flush();
        return 1;
      }
      for (JsonNode result : body.path("results")) {
        out.println(
            result.path("policy").asText()
                + " "
                + result.path("action").asText()
                + (dryRun ? " (dry run)" : ""));
      }
      out.flush();
      err.flush();
      return 0;
    }
  }
}
