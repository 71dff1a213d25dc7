package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyKind;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fedmesh delete}: removes policies, named on the command line or by their files. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description =
        "Deletes policies: 'delete KIND NAME -n NS' or 'delete -f FILE'. All of them or none;"
            + " refused while another policy still routes to a subset being removed.")
final class DeleteCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Mixin ControllerOptions controller = new ControllerOptions();

  @ArgGroup(exclusive = true, multiplicity = "1")
  Target target;

  static final class Target {
    @Option(
        names = {"-f", "--filename"},
        description = "Delete the policies these files define (a file, a directory or -).")
    List<String> files;

    @Parameters(
        arity = "2",
        paramLabel = "KIND NAME",
        description = "The kind and name of one policy.")
    List<String> kindAndName;
  }

  @Option(
      names = {"-n", "--namespace"},
      defaultValue = "default",
      description = "The policy's namespace (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--dry-run", description = "Check, but delete nothing.")
  boolean dryRun;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ObjectNode request = JSON.createObjectNode();
    request.put("dryRun", dryRun);
    ArrayNode policies = request.putArray("policies");
    if (target.files != null) {
      PolicyFiles files = new PolicyFiles();
      files.files = target.files;
      List<PolicyDocuments.Result> results = files.read(System.in);
      ValidateCommand.Checked checked = ValidateCommand.check(results, false);
      if (checked.failed()) {
        checked.errors().forEach(err::println);
        err.println("nothing deleted: the files have errors");
        err.flush();
        return 1;
      }
      for (PolicyDocuments.Result result : results) {
        for (Policy policy : result.policies()) {
          policies
              .addObject()
              .put("kind", policy.kind().kind())
              .put("namespace", policy.metadata().namespace())
              .put("name", policy.metadata().name());
        }
      }
    } else {
      String kindName = target.kindAndName.get(0);
      Optional<PolicyKind> kind = PolicyKind.named(kindName);
      if (kind.isEmpty()) {
        err.println("KIND: '" + kindName + "' (expected: " + GetCommand.kindNames() + ")");
        err.flush();
        return 1;
      }
      policies
          .addObject()
          .put("kind", kind.get().kind())
          .put("namespace", kind.get().namespaced() ? namespace : "")
          .put("name", target.kindAndName.get(1));
    }
    return ApplyCommand.PolicyOutput.print(
        controller.client().deletePolicies(request), dryRun, out, err);
  }
}
