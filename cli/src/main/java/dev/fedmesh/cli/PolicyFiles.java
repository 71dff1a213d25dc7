package dev.fedmesh.cli;

import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * The {@code -f FILE|DIR|-} option of commands that read policy documents, as kubectl reads them: a
 * file, every {@code .yaml}, {@code .yml} and {@code .json} file of a directory (with {@code -R},
 * of its subdirectories too), or standard input.
 */
final class PolicyFiles {
  @Option(
      names = {"-f", "--filename"},
      required = true,
      description = "A file, a directory of .yaml/.yml/.json files, or - for standard input.")
  List<String> files;

  @Option(
      names = {"-R", "--recursive"},
      description = "Read the directories given with -f recursively.")
  boolean recursive;

  /** Every document of every input, in order, with each input's errors. */
  List<PolicyDocuments.Result> read(InputStream stdin) throws IOException {
    List<PolicyDocuments.Result> results = new ArrayList<>();
    for (String name : files) {
      if (name.equals("-")) {
        results.add(
            PolicyDocuments.read("-", new String(stdin.readAllBytes(), StandardCharsets.UTF_8)));
        continue;
      }
      Path path = Path.of(name);
      if (Files.isDirectory(path)) {
        List<Path> found;
        try (Stream<Path> walk = recursive ? Files.walk(path) : Files.list(path)) {
          found =
              walk.filter(Files::isRegularFile)
                  .filter(p -> p.getFileName().toString().matches(".*\\.(yaml|yml|json)"))
                  .sorted()
                  .toList();
        }
        if (found.isEmpty()) {
          results.add(failure(name, "no .yaml, .yml or .json files in the directory"));
        }
        for (Path file : found) {
          results.add(readFile(file));
        }
      } else if (Files.isRegularFile(path)) {
        results.add(readFile(path));
      } else {
        results.add(
            failure(name, "no such file or directory (expected: a file, a directory or -)"));
      }
    }
    return results;
  }

  private static PolicyDocuments.Result readFile(Path file) throws IOException {
    if (Files.size(file) > PolicyDocuments.MAX_INPUT_BYTES) {
      return failure(
          file.toString(),
          "file of "
              + Files.size(file)
              + " bytes (expected: at most "
              + PolicyDocuments.MAX_INPUT_BYTES
              + ")");
    }
    if (!Files.isReadable(file)) {
      return failure(file.toString(), "not readable");
    }
    return PolicyDocuments.read(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
  }

  private static PolicyDocuments.Result failure(String source, String message) {
    return new PolicyDocuments.Result(
        List.of(), List.of(new PolicyError(source, 0, "", message, false)));
  }
}
