package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

/**
 * One thing wrong with one policy document, printed as {@code FILE:DOC_INDEX: PATH: message}.
 *
 * @param source the file (or {@code -} for standard input, or the store key) the document came from
 * @param document the document's index within its source, counting YAML documents from 1; 0 for the
 *     input as a whole (a file that cannot be read)
 * @param path where in the document, as {@code spec.http[0].route[1].weight}; empty for the whole
 *     document
 * @param message what is wrong and what was expected
 * @param warning whether the problem is a warning (reported, but nothing is refused for it)
 */
public record PolicyError(
    String source, int document, String path, String message, boolean warning) {
  public PolicyError {
    requireNonNull(source, "source");
    requireNonNull(path, "path");
    requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    // Document 0 is the input itself (a file that cannot be read): no document to count.
    return source
        + (document > 0 ? ":" + document : "")
        + ": "
        + (warning ? "warning: " : "")
        + (path.isEmpty() ? "" : path + ": ")
        + message;
  }
}
