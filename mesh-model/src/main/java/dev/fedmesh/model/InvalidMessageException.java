package dev.fedmesh.model;

import java.util.List;

/** A message or document that fails validation; lists every problem, each naming its field. */
public final class InvalidMessageException extends Exception {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public InvalidMessageException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
