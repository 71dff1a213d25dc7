package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** A cluster CA that fedmesh refuses to use, with every problem found in it. */
public final class InvalidCaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public InvalidCaException(List<String> problems) {
    super(String.join("\n", requireNonNull(problems, "problems")));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
