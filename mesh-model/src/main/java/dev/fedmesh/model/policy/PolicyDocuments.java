package dev.fedmesh.model.policy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * Reads policy documents from YAML (or JSON) text: every document of a file on its own, each error
 * with the file, the document's index and the field's path, all of them, not the first.
 */
public final class PolicyDocuments {
  /** The largest document accepted: what etcd stores comfortably in one value. */
  public static final int MAX_DOCUMENT_BYTES = 512 * 1024;

  /** The largest input read at once. */
  public static final int MAX_INPUT_BYTES = 64 * 1024 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML;

  static {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(MAX_INPUT_BYTES);
    options.setAllowDuplicateKeys(false);
    YAML =
        new YAMLMapper(
            YAMLFactory.builder()
                .loaderOptions(options)
                .streamReadConstraints(
                    StreamReadConstraints.builder().maxStringLength(MAX_INPUT_BYTES).build())
                .build());
    YAML.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  }

  /**
   * One document as read.
   *
   * @param source where it came from
   * @param index its index in the source, from 1
   * @param policy the policy, when the document has no errors
   * @param json the document as written (without status), for storing
   */
  public record Document(String source, int index, Optional<Policy> policy, ObjectNode json) {}

  /** Every document of one input and every error found in them. */
  public record Result(List<Document> documents, List<PolicyError> errors) {
    public Result {
      documents = List.copyOf(documents);
      errors = List.copyOf(errors);
    }

    public List<Policy> policies() {
      return documents.stream().flatMap(d -> d.policy().stream()).toList();
    }

    public boolean hasErrors() {
      return errors.stream().anyMatch(e -> !e.warning());
    }
  }

  private PolicyDocuments() {}

  /** Reads all documents of {@code text}, which came from {@code source}. */
  public static Result read(String source, String text) {
    List<Document> documents = new ArrayList<>();
    List<PolicyError> errors = new ArrayList<>();
    if (text.length() > MAX_INPUT_BYTES) {
      errors.add(
          new PolicyError(
              source,
              1,
              "",
              "input of "
                  + text.length()
                  + " characters (expected: at most "
                  + MAX_INPUT_BYTES
                  + ")",
              false));
      return new Result(documents, errors);
    }
    if (tooLarge(source, text, errors)) {
      return new Result(documents, errors);
    }
    int index = 0;
    try (MappingIterator<JsonNode> nodes = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (true) {
        JsonNode node;
        try {
          if (!nodes.hasNextValue()) {
            break;
          }
          index++;
          node = nodes.nextValue();
        } catch (IOException | RuntimeException e) {
          errors.add(
              new PolicyError(
                  source, Math.max(1, index), "", "malformed YAML: " + message(e), false));
          break;
        }
        if (node == null
            || node.isNull()
            || node.isMissingNode()
            || (node.isTextual() && node.asText().isBlank())) {
          continue; // an empty document, as after a trailing '---'
        }
        read(source, index, node, documents, errors);
      }
    } catch (IOException e) {
      errors.add(
          new PolicyError(source, Math.max(1, index), "", "malformed YAML: " + message(e), false));
    }
    return new Result(documents, errors);
  }

  /**
   * Refuses, before parsing, documents whose text is already far above the limit: a YAML parser
   * takes seconds over megabytes of one scalar, and the answer would be the same.
   */
  private static boolean tooLarge(String source, String text, List<PolicyError> errors) {
    int index = 0;
    boolean found = false;
    for (String chunk : text.split("(?m)^---[ \t]*(?:#.*)?$")) {
      if (index > 0 || !chunk.isBlank()) {
        index++;
      }
      int bytes = chunk.getBytes(StandardCharsets.UTF_8).length;
      if (bytes > 2 * MAX_DOCUMENT_BYTES) {
        errors.add(
            new PolicyError(
                source,
                Math.max(1, index),
                "",
                "document of "
                    + bytes
                    + " bytes (expected: at most "
                    + MAX_DOCUMENT_BYTES
                    + " bytes; split it into several policies)",
                false));
        found = true;
      }
    }
    return found;
  }

  /**
   * Reads one document already parsed from YAML or JSON, keeping the location it was read at: the
   * controller checks what the CLI sends with the CLI's file names and indexes.
   */
  public static Result read(String source, int index, JsonNode node) {
    List<Document> documents = new ArrayList<>();
    List<PolicyError> errors = new ArrayList<>();
    read(source, index, node, documents, errors);
    return new Result(documents, errors);
  }

  /**
   * The form a policy is stored in: the document as written, without status and without what the
   * store itself records (resourceVersion, generation) or Kubernetes tools add, with the namespace
   * filled in. Equal stored forms mean an unchanged policy.
   */
  public static ObjectNode storedForm(Document document) {
    ObjectNode stored = document.json().deepCopy();
    stored.remove("status");
    JsonNode metadata = stored.get("metadata");
    if (metadata instanceof ObjectNode meta) {
      for (String field :
          List.of(
              "resourceVersion",
              "generation",
              "uid",
              "creationTimestamp",
              "managedFields",
              "selfLink")) {
        meta.remove(field);
      }
      document
          .policy()
          .filter(p -> !p.metadata().namespace().isEmpty())
          .ifPresent(p -> meta.put("namespace", p.metadata().namespace()));
    }
    return stored;
  }

  /** Reads one stored document (JSON), as the controller does from etcd. */
  public static Result readStored(String key, byte[] json) {
    return read(key, new String(json, StandardCharsets.UTF_8));
  }

  private static void read(
      String source, int index, JsonNode node, List<Document> documents, List<PolicyError> errors) {
    Problems problems = new Problems();
    ObjectNode written = node.isObject() ? ((ObjectNode) node).deepCopy() : JSON.createObjectNode();
    Optional<Policy> policy = parse(node, problems);
    written.remove("status");
    try {
      int size = JSON.writeValueAsBytes(written).length;
      if (size > MAX_DOCUMENT_BYTES) {
        problems.error(
            "",
            "document of "
                + size
                + " bytes (expected: at most "
                + MAX_DOCUMENT_BYTES
                + " bytes; split it into several policies)");
      }
    } catch (JsonProcessingException e) {
      problems.error("", "cannot be stored: " + e.getOriginalMessage());
    }
    errors.addAll(problems.located(source, index));
    documents.add(
        new Document(source, index, problems.hasErrors() ? Optional.empty() : policy, written));
  }

  private static Optional<Policy> parse(JsonNode node, Problems problems) {
    Optional<Fields> document = Fields.of(node, "", problems);
    if (document.isEmpty()) {
      return Optional.empty();
    }
    Fields doc = document.get();
    String apiVersion = doc.requiredString("apiVersion").orElse("");
    String kindName = doc.requiredString("kind").orElse("");
    if (apiVersion.isEmpty() || kindName.isEmpty()) {
      return Optional.empty();
    }
    Optional<PolicyKind> kind = Optional.empty();
    for (PolicyKind candidate : PolicyKind.values()) {
      if (candidate.kind().equals(kindName)) {
        kind = Optional.of(candidate);
      }
    }
    if (kind.isEmpty()) {
      List<String> known =
          java.util.Arrays.stream(PolicyKind.values()).map(PolicyKind::kind).toList();
      doc.error("kind", "'" + kindName + "' (expected: one of " + String.join(", ", known) + ")");
      return Optional.empty();
    }
    if (!kind.get().apiVersions().contains(apiVersion)) {
      doc.error(
          "apiVersion",
          "'"
              + apiVersion
              + "' (expected for "
              + kindName
              + ": "
              + String.join(", ", kind.get().apiVersions())
              + ")");
      return Optional.empty();
    }
    Optional<Fields> metadataFields = doc.object("metadata");
    if (metadataFields.isEmpty()) {
      if (!doc.has("metadata")) {
        doc.error("metadata", "missing (expected: an object with name)");
      }
      return Optional.empty();
    }
    ObjectMeta metadata = ObjectMeta.parse(metadataFields.get(), kind.get());
    Optional<Fields> spec = doc.object("spec");
    doc.ignored("status");
    doc.end();
    if (spec.isEmpty() && kind.get() == PolicyKind.SERVICE_EXPORT && !doc.has("spec")) {
      // A ServiceExport is its name: MCS gives it no spec fields, and kubectl writes none.
      spec = Fields.of(null, "spec", doc.problems());
    }
    if (spec.isEmpty()) {
      if (!doc.has("spec")) {
        doc.error("spec", "missing (expected: an object)");
      }
      return Optional.empty();
    }
    return Optional.of(
        switch (kind.get()) {
          case VIRTUAL_SERVICE -> VirtualService.parse(metadata, spec.get());
          case DESTINATION_RULE -> DestinationRule.parse(metadata, spec.get());
          case PEER_AUTHENTICATION -> PeerAuthentication.parse(metadata, spec.get());
          case AUTHORIZATION_POLICY -> AuthorizationPolicy.parse(metadata, spec.get());
          case MESH_CONFIG -> MeshConfig.parse(metadata, spec.get());
          case HTTP_ROUTE -> GatewayRoute.parseHttp(metadata, spec.get());
          case GRPC_ROUTE -> GatewayRoute.parseGrpc(metadata, spec.get());
          case TRAFFIC_SPLIT -> TrafficSplit.parse(metadata, spec.get(), apiVersion);
          case SERVICE_EXPORT -> ServiceExport.parse(metadata, spec.get());
          case SERVICE_ENTRY -> ServiceEntry.parse(metadata, spec.get());
        });
  }

  private static String message(Exception e) {
    if (e instanceof JsonProcessingException json) {
      String location =
          json.getLocation() == null
              ? ""
              : "line "
                  + json.getLocation().getLineNr()
                  + " column "
                  + json.getLocation().getColumnNr()
                  + ": ";
      return location + json.getOriginalMessage().lines().findFirst().orElse("").strip();
    }
    return String.valueOf(e.getMessage()).lines().findFirst().orElse("").strip();
  }
}
