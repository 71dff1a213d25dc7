package dev.fedmesh.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.controller.store.KeyLayout;
import dev.fedmesh.controller.store.PolicyStore;
import dev.fedmesh.controller.xds.XdsPublisher;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.Hosts;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyError;
import dev.fedmesh.model.policy.PolicyKind;
import dev.fedmesh.model.policy.PolicySet;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;

/**
 * The admin API's policy endpoints. Every write is checked again here (each document, then against
 * everything stored) and written in one etcd transaction, so an apply takes effect whole or not at
 * all:
 *
 * <ul>
 *   <li>{@code POST /policies}: {@code {"dryRun": bool, "documents": [{"source", "index",
 *       "document"}]}}; 200 with each policy's outcome, 422 with every error, 409 when a
 *       resourceVersion is stale or the store moved on meanwhile
 *   <li>{@code POST /policies/delete}: {@code {"dryRun": bool, "policies": [{"kind", "namespace",
 *       "name"}]}}
 *   <li>{@code GET /policies?kind=&namespace=&name=}: stored policies with their resourceVersion,
 *       generation and how many proxies hold the config that carries them
 * </ul>
 */
final class PolicyApi {
  /** The largest request body accepted. */
  static final int MAX_BODY_BYTES = 32 * 1024 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final GlobalController controller;

  PolicyApi(GlobalController controller) {
    this.controller = controller;
  }

  /** An answer: HTTP status and JSON body. */
  record Answer(int status, JsonNode body) {}

  /** At most this many proxies not yet holding a policy are named in its status. */
  static final int MAX_WAITING_LISTED = 20;

  Answer apply(HttpExchange exchange) throws IOException {
    Optional<JsonNode> request = body(exchange);
    if (request.isEmpty()) {
      return tooLarge();
    }
    JsonNode documents = request.get().path("documents");
    if (!documents.isArray()) {
      return errors(
          400, List.of("documents: missing (expected: a list of {source, index, document})"));
    }
    boolean dryRun = request.get().path("dryRun").asBoolean(false);
    List<PolicyError> errors = new ArrayList<>();
    List<PolicyDocuments.Document> valid = new ArrayList<>();
    Map<String, PolicyDocuments.Document> byId = new LinkedHashMap<>();
    for (JsonNode entry : documents) {
      String source = entry.path("source").asText("request");
      int index = entry.path("index").asInt(1);
      PolicyDocuments.Result result = PolicyDocuments.read(source, index, entry.path("document"));
      errors.addAll(result.errors());
      for (PolicyDocuments.Document document : result.documents()) {
        if (document.policy().isEmpty()) {
          continue;
        }
        Policy policy = document.policy().get();
        PolicyDocuments.Document earlier = byId.putIfAbsent(policy.id(), document);
        if (earlier != null) {
          errors.add(
              new PolicyError(
                  source,
                  index,
                  "metadata.name",
                  policy.id()
                      + " is also in this apply at "
                      + earlier.source()
                      + ":"
                      + earlier.index()
                      + " (expected: each policy once)",
                  false));
        } else {
          valid.add(document);
        }
      }
    }
    if (failed(errors)) {
      return errors(422, lines(errors));
    }
    List<String> invalidStored = new ArrayList<>();
    PolicyStore.Listing listing = controller.policies().list(invalidStored);
    Set<String> applied = new HashSet<>(byId.keySet());
    PolicySet after =
        listing.policies().with(valid.stream().map(d -> d.policy().orElseThrow()).toList());
    for (PolicySet.Conflict conflict : after.check(true, applied::contains)) {
      PolicyDocuments.Document at = byId.get(conflict.policy().id());
      errors.add(
          new PolicyError(
              at.source(), at.index(), conflict.path(), conflict.message(), conflict.warning()));
    }
    errors.addAll(emptySubsets(valid, controller.mesh()));
    if (failed(errors)) {
      return errors(422, lines(errors));
    }
    try {
      List<PolicyStore.Outcome> outcomes = controller.policies().apply(listing, valid, dryRun);
      return results(outcomes, errors, dryRun);
    } catch (PolicyStore.ConflictException e) {
      return errors(409, e.problems());
    }
  }

  Answer delete(HttpExchange exchange) throws IOException {
    Optional<JsonNode> request = body(exchange);
    if (request.isEmpty()) {
      return tooLarge();
    }
    boolean dryRun = request.get().path("dryRun").asBoolean(false);
    List<String> problems = new ArrayList<>();
    List<KeyLayout.PolicyKey> keys = new ArrayList<>();
    int i = 0;
    for (JsonNode entry : request.get().path("policies")) {
      String kindName = entry.path("kind").asText("");
      Optional<PolicyKind> kind = PolicyKind.named(kindName);
      if (kind.isEmpty()) {
        problems.add("policies[" + i + "].kind: '" + kindName + "' (expected: " + kinds() + ")");
      } else {
        keys.add(
            PolicyStore.key(
                kind.get(), entry.path("namespace").asText(""), entry.path("name").asText("")));
      }
      i++;
    }
    if (keys.isEmpty() && problems.isEmpty()) {
      problems.add("policies: empty (expected: at least one {kind, namespace, name})");
    }
    if (!problems.isEmpty()) {
      return errors(400, problems);
    }
    List<String> invalidStored = new ArrayList<>();
    PolicyStore.Listing listing = controller.policies().list(invalidStored);
    Set<String> ids = new HashSet<>();
    keys.forEach(key -> ids.add(key.id()));
    PolicySet after = listing.policies().without(ids);
    for (PolicySet.Conflict conflict : after.check(true, id -> !ids.contains(id))) {
      problems.add(
          conflict.policy().id()
              + ": "
              + conflict.path()
              + ": "
              + conflict.message()
              + " (delete or change it in the same step)");
    }
    if (!problems.isEmpty()) {
      return errors(422, problems);
    }
    try {
      return results(controller.policies().delete(listing, keys, dryRun), List.of(), dryRun);
    } catch (PolicyStore.ConflictException e) {
      return errors(404, e.problems());
    }
  }

  Answer list(Map<String, String> query) throws IOException {
    Optional<PolicyKind> kind = Optional.empty();
    String kindName = query.getOrDefault("kind", "");
    if (!kindName.isEmpty()) {
      kind = PolicyKind.named(kindName);
      if (kind.isEmpty()) {
        return errors(400, List.of("kind: '" + kindName + "' (expected: " + kinds() + ")"));
      }
    }
    String namespace = query.getOrDefault("namespace", "");
    String name = query.getOrDefault("name", "");
    List<String> invalid = new ArrayList<>();
    PolicyStore.Listing listing = controller.policies().list(invalid);
    ObjectNode body = JSON.createObjectNode();
    body.put("revision", listing.revision());
    body.put("meshRevision", controller.mesh().revision());
    ArrayNode items = body.putArray("items");
    for (PolicyStore.Stored stored : listing.byKey().values()) {
      Policy policy = stored.policy();
      if ((kind.isPresent() && policy.kind() != kind.get())
          || (!namespace.isEmpty()
              && policy.kind().namespaced()
              && !policy.metadata().namespace().equals(namespace))
          || (!name.isEmpty() && !policy.metadata().name().equals(name))) {
        continue;
      }
      ObjectNode item = items.addObject();
      ObjectNode document = stored.document().deepCopy();
      ObjectNode metadata = document.with("metadata");
      metadata.put("resourceVersion", String.valueOf(stored.modRevision()));
      metadata.put("generation", stored.version());
      item.set("document", document);
      XdsPublisher.Holding holding = controller.xds().proxiesHolding(stored.modRevision());
      ObjectNode status = item.putObject("status");
      status.put("inMesh", controller.mesh().revision() >= stored.modRevision());
      status.put("proxiesSynced", holding.synced());
      status.put("proxies", holding.connected());
      // Which ones lag, by name, up to a screenful.
      ArrayNode waiting = status.putArray("proxiesWaiting");
      holding.waiting().stream().limit(MAX_WAITING_LISTED).forEach(waiting::add);
    }
    ArrayNode invalidNode = body.putArray("invalid");
    invalid.forEach(invalidNode::add);
    return new Answer(200, body);
  }

  /** A warning for each applied subset that selects no endpoint anywhere in the mesh now. */
  private static List<PolicyError> emptySubsets(
      List<PolicyDocuments.Document> documents, MeshSnapshot mesh) {
    List<PolicyError> warnings = new ArrayList<>();
    for (PolicyDocuments.Document document : documents) {
      if (!(document.policy().orElseThrow() instanceof DestinationRule rule)) {
        continue;
      }
      Optional<SortedMap<ClusterName, ServiceEndpoints>> shards =
          Hosts.service(rule.host()).map(key -> mesh.services().get(key));
      // A ServiceEntry's host (stored or applied with the rule): its own endpoints' labels.
      Optional<dev.fedmesh.model.policy.ServiceEntry> entry =
          dev.fedmesh.model.policy.PolicySet.of(
                  documents.stream().flatMap(d -> d.policy().stream()).toList())
              .serviceEntryFor(rule.host())
              .or(() -> mesh.policies().serviceEntryFor(rule.host()));
      for (int i = 0; i < rule.subsets().size(); i++) {
        DestinationRule.Subset subset = rule.subsets().get(i);
        boolean any =
            entry
                    .map(
                        e ->
                            e.endpoints().stream()
                                .anyMatch(
                                    endpoint ->
                                        subset.labels().entrySet().stream()
                                            .allMatch(
                                                label ->
                                                    label
                                                        .getValue()
                                                        .equals(
                                                            endpoint
                                                                .labels()
                                                                .get(label.getKey())))))
                    .orElse(false)
                || shards.isPresent()
                    && shards.get() != null
                    && shards.get().values().stream()
                        .flatMap(shard -> shard.endpoints().stream())
                        .anyMatch(
                            endpoint ->
                                subset.labels().entrySet().stream()
                                    .allMatch(
                                        label ->
                                            label
                                                .getValue()
                                                .equals(endpoint.labels().get(label.getKey()))));
        if (!any) {
          warnings.add(
              new PolicyError(
                  document.source(),
                  document.index(),
                  "spec.subsets[" + i + "]",
                  "'"
                      + subset.name()
                      + "' selects no endpoint of "
                      + rule.host()
                      + " now (labels "
                      + subset.labels()
                      + "); routes to it answer 503 until one runs",
                  true));
        }
      }
    }
    return warnings;
  }

  private static Answer results(
      List<PolicyStore.Outcome> outcomes, List<PolicyError> warnings, boolean dryRun) {
    ObjectNode body = JSON.createObjectNode();
    body.put("dryRun", dryRun);
    ArrayNode results = body.putArray("results");
    for (PolicyStore.Outcome outcome : outcomes) {
      ObjectNode result = results.addObject();
      result.put("policy", outcome.id());
      result.put("action", outcome.action());
      if (outcome.resourceVersion() > 0) {
        result.put("resourceVersion", String.valueOf(outcome.resourceVersion()));
      }
    }
    ArrayNode warningNode = body.putArray("warnings");
    warnings.stream().filter(PolicyError::warning).forEach(w -> warningNode.add(w.toString()));
    return new Answer(200, body);
  }

  private static boolean failed(List<PolicyError> errors) {
    return errors.stream().anyMatch(e -> !e.warning());
  }

  private static List<String> lines(List<PolicyError> errors) {
    return errors.stream().map(PolicyError::toString).toList();
  }

  private static Answer errors(int status, List<String> errors) {
    ObjectNode body = JSON.createObjectNode();
    ArrayNode list = body.putArray("errors");
    errors.forEach(list::add);
    return new Answer(status, body);
  }

  private static Answer tooLarge() {
    return errors(
        413,
        List.of(
            "request body: larger than "
                + MAX_BODY_BYTES
                + " bytes (expected: apply in smaller parts)"));
  }

  private static Optional<JsonNode> body(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      if (bytes.length > MAX_BODY_BYTES) {
        return Optional.empty();
      }
      return Optional.of(bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes));
    }
  }

  private static String kinds() {
    return String.join(
        ", ", java.util.Arrays.stream(PolicyKind.values()).map(PolicyKind::kind).toList());
  }
}
