package dev.fedmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh diff -f}: what an apply of these files would change, policy by policy, as a
 * unified diff of the stored YAML against the new. Exits 0 without changes, 1 with, 2 on errors
 * (kubectl's convention).
 */
@Command(
    name = "diff",
    mixinStandardHelpOptions = true,
    description =
        "Shows what applying the files would change, as a diff of each stored policy against the"
            + " file's. Exits 0 when nothing would change, 1 when something would, 2 on errors.")
final class DiffCommand implements Callable<Integer> {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

  @Spec CommandSpec spec;

  @Mixin PolicyFiles files = new PolicyFiles();

  @Mixin ControllerOptions controller = new ControllerOptions();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<PolicyDocuments.Result> results = files.read(System.in);
    ValidateCommand.Checked checked = ValidateCommand.check(results, false);
    if (checked.failed()) {
      checked.errors().forEach(err::println);
      err.flush();
      return 2;
    }
    AdminClient client = controller.client();
    boolean changed = false;
    for (PolicyDocuments.Result result : results) {
      for (PolicyDocuments.Document document : result.documents()) {
        Policy policy = document.policy().orElseThrow();
        AdminClient.PolicyAnswer answer =
            client.policies(
                policy.kind().kind(), policy.metadata().namespace(), policy.metadata().name());
        if (!answer.ok()) {
          answer.body().path("errors").forEach(e -> err.println(e.asText()));
          err.flush();
          return 2;
        }
        JsonNode items = answer.body().path("items");
        String before = "";
        if (!items.isEmpty()) {
          ObjectNode stored = items.get(0).path("document").deepCopy();
          ObjectNode metadata = (ObjectNode) stored.path("metadata");
          metadata.remove("resourceVersion");
          metadata.remove("generation");
          before = YAML.writeValueAsString(stored);
        }
        String after = YAML.writeValueAsString(PolicyDocuments.storedForm(document));
        if (!before.equals(after)) {
          changed = true;
          out.println("--- " + policy.id() + (before.isEmpty() ? " (not stored)" : " (stored)"));
          out.println(
              "+++ " + policy.id() + " (" + document.source() + ":" + document.index() + ")");
          diff(lines(before), lines(after)).forEach(out::println);
        }
      }
    }
    out.flush();
    return changed ? 1 : 0;
  }

  private static List<String> lines(String text) {
    return text.isEmpty() ? List.of() : text.lines().toList();
  }

  /**
   * A line diff by longest common subsequence: {@code -} removed, {@code +} added, context kept.
   */
  static List<String> diff(List<String> before, List<String> after) {
    int[][] common = new int[before.size() + 1][after.size() + 1];
    for (int i = before.size() - 1; i >= 0; i--) {
      for (int j = after.size() - 1; j >= 0; j--) {
        common[i][j] =
            before.get(i).equals(after.get(j))
                ? common[i + 1][j + 1] + 1
                : Math.max(common[i + 1][j], common[i][j + 1]);
      }
    }
    List<String> lines = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < before.size() || j < after.size()) {
      if (i < before.size() && j < after.size() && before.get(i).equals(after.get(j))) {
        lines.add(" " + before.get(i));
        i++;
        j++;
      } else if (j < after.size() && (i == before.size() || common[i][j + 1] >= common[i + 1][j])) {
        lines.add("+" + after.get(j++));
      } else {
        lines.add("-" + before.get(i++));
      }
    }
    return lines;
  }
}
