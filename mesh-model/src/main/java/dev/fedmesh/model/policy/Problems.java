package dev.fedmesh.model.policy;

import java.util.ArrayList;
import java.util.List;

/** The errors found in one document, each with its path; the loader adds the file and index. */
final class Problems {
  private record Problem(String path, String message, boolean warning) {}

  private final List<Problem> problems = new ArrayList<>();

  void error(String path, String message) {
    problems.add(new Problem(path, message, false));
  }

  void warning(String path, String message) {
    problems.add(new Problem(path, message, true));
  }

  boolean hasErrors() {
    return problems.stream().anyMatch(p -> !p.warning());
  }

  List<PolicyError> located(String source, int document) {
    return problems.stream()
        .map(p -> new PolicyError(source, document, p.path(), p.message(), p.warning()))
        .toList();
  }
}
