package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The policy examples in {@code docs/examples/policies}, written from Istio's documentation for
 * each supported kind, are all accepted by {@code fedmesh validate} as users would run it.
 */
class PolicyExamplesTest {
  private static final Path EXAMPLES = Path.of("..", "docs", "examples", "policies");

  @Test
  void everyExampleIsValid() throws Exception {
    CliRun run = CliRun.of("validate", "-f", EXAMPLES.toString());

    assertThat(run.err()).isEmpty();
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).matches("(?s)\\d+ document\\(s\\) valid\\s*");
    int documents = Integer.parseInt(run.out().strip().split(" ")[0]);
    assertThat(documents).as("examples, at least 20 documents").isGreaterThanOrEqualTo(20);
  }

  @Test
  void everyExampleFileIsReadByTheDirectoryForm() throws Exception {
    long files;
    try (Stream<Path> list = Files.list(EXAMPLES)) {
      files = list.filter(p -> p.toString().endsWith(".yaml")).count();
    }
    for (Path file : Files.newDirectoryStream(EXAMPLES, "*.yaml")) {
      CliRun one = CliRun.of("validate", "-f", file.toString());
      assertThat(one.exitCode()).as(file + ": " + one.err()).isZero();
    }
    assertThat(files).isGreaterThanOrEqualTo(10);
  }
}
