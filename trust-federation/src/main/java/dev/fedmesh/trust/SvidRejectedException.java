package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** A peer's certificate chain that is not a valid X.509-SVID of a trusted domain, with why. */
public final class SvidRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public SvidRejectedException(List<String> problems) {
    super(String.join("; ", requireNonNull(problems, "problems")));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
