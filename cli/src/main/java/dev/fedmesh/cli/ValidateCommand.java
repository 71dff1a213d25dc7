package dev.fedmesh.cli;

import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyError;
import dev.fedmesh.model.policy.PolicySet;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh validate -f}: checks policy documents offline, each on its own and against each
 * other, and prints every error as {@code FILE:DOC_INDEX: PATH: message}.
 */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description =
        "Checks policy documents without a controller: types, enums, durations, weights, regular"
            + " expressions, fields fedmesh does not support, and references between the"
            + " documents given. Prints every error; exits 1 when there is any.")
final class ValidateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin PolicyFiles files = new PolicyFiles();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Checked checked = check(files.read(System.in), false);
    checked.errors().forEach(err::println);
    err.flush();
    if (checked.failed()) {
      out.println(
          checked.errorCount()
              + " error(s) in "
              + checked.documents()
              + " document(s); nothing is valid until all are fixed");
      out.flush();
      return 1;
    }
    out.println(checked.documents() + " document(s) valid");
    out.flush();
    return 0;
  }

  /** The errors of some inputs, with cross-document checks (conflicts, missing subsets). */
  record Checked(List<PolicyError> errors, int documents) {
    boolean failed() {
      return errors.stream().anyMatch(e -> !e.warning());
    }

    long errorCount() {
      return errors.stream().filter(e -> !e.warning()).count();
    }
  }

  static Checked check(List<PolicyDocuments.Result> results, boolean requireDestinationRules) {
    List<PolicyError> errors = new ArrayList<>();
    List<PolicyDocuments.Document> documents = new ArrayList<>();
    for (PolicyDocuments.Result result : results) {
      errors.addAll(result.errors());
      documents.addAll(result.documents());
    }
    java.util.Map<String, PolicyDocuments.Document> byId = new java.util.LinkedHashMap<>();
    for (PolicyDocuments.Document document : documents) {
      document
          .policy()
          .ifPresent(
              policy -> {
                PolicyDocuments.Document earlier = byId.putIfAbsent(policy.id(), document);
                if (earlier != null) {
                  errors.add(
                      new PolicyError(
                          document.source(),
                          document.index(),
                          "metadata.name",
                          policy.id()
                              + " is also defined at "
                              + earlier.source()
                              + ":"
                              + earlier.index()
                              + " (expected: each policy once)",
                          false));
                }
              });
    }
    PolicySet set =
        PolicySet.of(byId.values().stream().map(d -> d.policy().orElseThrow()).toList());
    for (PolicySet.Conflict conflict : set.check(requireDestinationRules)) {
      PolicyDocuments.Document at = byId.get(conflict.policy().id());
      errors.add(
          new PolicyError(
              at.source(), at.index(), conflict.path(), conflict.message(), conflict.warning()));
    }
    return new Checked(errors, documents.size());
  }
}
