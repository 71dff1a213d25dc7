package dev.fedmesh.deploy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One YAML document of a manifest file or of a rendered overlay, named as fedmesh names policy
 * documents in its errors: {@code SOURCE:INDEX}, counting documents from 1.
 *
 * @param source the file, relative to the repository, or {@code kubectl kustomize <dir>}
 * @param index the document's position in its source, from 1
 * @param node the document as a JSON tree
 */
record YamlDocument(String source, int index, JsonNode node) {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  YamlDocument {
    requireNonNull(source, "source");
    requireNonNull(node, "node");
  }

  /** {@code SOURCE:INDEX}, the prefix of every problem found in this document. */
  String where() {
    return source + ":" + index;
  }

  String kind() {
    return node.path("kind").asText("");
  }

  String name() {
    return node.path("metadata").path("name").asText("");
  }

  /** Every non-empty document of {@code yaml}, numbered as they appear (empty ones count too). */
  static List<YamlDocument> parse(String source, String yaml) {
    List<YamlDocument> documents = new ArrayList<>();
    try (MappingIterator<JsonNode> iterator =
        YAML.readerFor(JsonNode.class).readValues(yaml.getBytes(StandardCharsets.UTF_8))) {
      int index = 0;
      while (iterator.hasNextValue()) {
        JsonNode node = iterator.nextValue();
        index++;
        if (node != null && !node.isNull() && !node.isMissingNode()) {
          documents.add(new YamlDocument(source, index, node));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(source + ": not YAML: " + e.getMessage(), e);
    }
    return documents;
  }

  /** The documents of a file, named by its path relative to the repository. */
  static List<YamlDocument> read(Path file) {
    try {
      return parse(
          RepoFiles.root().relativize(file.toAbsolutePath().normalize()).toString(),
          Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
