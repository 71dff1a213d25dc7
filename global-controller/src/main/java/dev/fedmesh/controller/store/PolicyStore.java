package dev.fedmesh.controller.store;

import static dev.fedmesh.controller.store.StoreCodec.utf8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicyKind;
import dev.fedmesh.model.policy.PolicySet;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Policies in etcd, written all-or-nothing: one apply (or delete) is one transaction that succeeds
 * only if no policy it touches changed since it was read, so two writers never interleave and a
 * stale {@code metadata.resourceVersion} is refused.
 */
public final class PolicyStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long TIMEOUT_SECONDS = 10;

  private final Client client;

  public PolicyStore(Client client) {
    this.client = requireNonNull(client, "client");
  }

  /** One stored policy, with the store's bookkeeping. */
  public record Stored(
      String key, Policy policy, ObjectNode document, long modRevision, long version) {}

  /** Every stored policy at one revision. */
  public record Listing(long revision, Map<String, Stored> byKey) {
    public PolicySet policies() {
      return PolicySet.of(byKey.values().stream().map(Stored::policy).toList());
    }
  }

  /**
   * What a write did to one policy, as kubectl says it.
   *
   * @param action {@code created}, {@code configured}, {@code unchanged} or {@code deleted}
   */
  public record Outcome(String id, String action, long resourceVersion) {}

  /** A write refused because what it read is no longer current, or a resourceVersion was stale. */
  public static final class ConflictException extends Exception {
    private final List<String> problems;

    public ConflictException(List<String> problems) {
      super(String.join("; ", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  /** Lists every stored policy; values that no longer validate are skipped and reported. */
  public Listing list(List<String> invalid) throws IOException {
    GetResponse response =
        await(
            client
                .getKVClient()
                .get(utf8(KeyLayout.POLICIES), GetOption.builder().isPrefix(true).build()));
    Map<String, Stored> byKey = new LinkedHashMap<>();
    for (KeyValue kv : response.getKvs()) {
      String key = kv.getKey().toString(StandardCharsets.UTF_8);
      Optional<KeyLayout.Parsed> parsed = KeyLayout.parse(key);
      if (parsed.isEmpty() || !(parsed.get() instanceof KeyLayout.PolicyKey policyKey)) {
        continue;
      }
      try {
        Policy policy =
            StoreCodec.decodePolicy(
                policyKey, key, kv.getValue(), kv.getModRevision(), kv.getVersion());
        ObjectNode document = (ObjectNode) JSON.readTree(kv.getValue().getBytes());
        byKey.put(key, new Stored(key, policy, document, kv.getModRevision(), kv.getVersion()));
      } catch (InvalidMessageException | IOException | ClassCastException e) {
        invalid.add(key + ": " + e.getMessage());
      }
    }
    return new Listing(response.getHeader().getRevision(), byKey);
  }

  /**
   * Writes {@code documents} (each valid) in one transaction, comparing every key against {@code
   * listing}: a policy changed by someone else since then fails the whole write.
   *
   * @throws ConflictException when a document's resourceVersion is stale or the store moved on
   */
  public List<Outcome> apply(
      Listing listing, List<PolicyDocuments.Document> documents, boolean dryRun)
      throws IOException, ConflictException {
    List<Outcome> outcomes = new ArrayList<>();
    List<Cmp> compares = new ArrayList<>();
    List<Op> puts = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    List<Integer> written = new ArrayList<>();
    for (PolicyDocuments.Document document : documents) {
      Policy policy = document.policy().orElseThrow();
      String key = KeyLayout.policy(policy);
      Stored current = listing.byKey().get(key);
      String resourceVersion = policy.metadata().resourceVersion();
      if (!resourceVersion.isEmpty()
          && (current == null || !resourceVersion.equals(String.valueOf(current.modRevision())))) {
        stale.add(
            document.source()
                + ":"
                + document.index()
                + ": metadata.resourceVersion: '"
                + resourceVersion
                + "' (expected: "
                + (current == null
                    ? "none; " + policy.id() + " does not exist"
                    : current.modRevision() + ", the current one; get it again and reapply")
                + ")");
        continue;
      }
      ObjectNode stored = PolicyDocuments.storedForm(document);
      if (current != null && current.document().equals(stored)) {
        outcomes.add(new Outcome(policy.id(), "unchanged", current.modRevision()));
        continue;
      }
      ByteSequence k = utf8(key);
      compares.add(
          current == null
              ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.version(0))
              : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(current.modRevision())));
      puts.add(Op.put(k, ByteSequence.from(JSON.writeValueAsBytes(stored)), PutOption.DEFAULT));
      outcomes.add(new Outcome(policy.id(), current == null ? "created" : "configured", 0));
      written.add(outcomes.size() - 1);
    }
    if (!stale.isEmpty()) {
      throw new ConflictException(stale);
    }
    if (dryRun || puts.isEmpty()) {
      return outcomes;
    }
    long revision = commit(compares, puts);
    for (int index : written) {
      Outcome outcome = outcomes.get(index);
      outcomes.set(index, new Outcome(outcome.id(), outcome.action(), revision));
    }
    return outcomes;
  }

  /** Deletes the stored policies named, in one transaction against {@code listing}. */
  public List<Outcome> delete(Listing listing, List<KeyLayout.PolicyKey> keys, boolean dryRun)
      throws IOException, ConflictException {
    List<Outcome> outcomes = new ArrayList<>();
    List<Cmp> compares = new ArrayList<>();
    List<Op> deletes = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (KeyLayout.PolicyKey key : keys) {
      String k = KeyLayout.policy(key.kind(), key.namespace(), key.name());
      Stored current = listing.byKey().get(k);
      if (current == null) {
        missing.add(key.id() + ": not found");
        continue;
      }
      compares.add(new Cmp(utf8(k), Cmp.Op.EQUAL, CmpTarget.modRevision(current.modRevision())));
      deletes.add(Op.delete(utf8(k), DeleteOption.DEFAULT));
      outcomes.add(new Outcome(key.id(), "deleted", current.modRevision()));
    }
    if (!missing.isEmpty()) {
      throw new ConflictException(missing);
    }
    if (!dryRun && !deletes.isEmpty()) {
      commit(compares, deletes);
    }
    return outcomes;
  }

  private long commit(List<Cmp> compares, List<Op> operations)
      throws IOException, ConflictException {
    var txn = client.getKVClient().txn();
    var response =
        await(txn.If(compares.toArray(Cmp[]::new)).Then(operations.toArray(Op[]::new)).commit());
    if (!response.isSucceeded()) {
      throw new ConflictException(
          List.of(
              "policies changed in the store while this write was checked (expected: no"
                  + " concurrent writer); nothing was written, apply again"));
    }
    return response.getHeader().getRevision();
  }

  /** A kind, namespace and name as the CLI names a stored policy. */
  public static KeyLayout.PolicyKey key(PolicyKind kind, String namespace, String name) {
    return new KeyLayout.PolicyKey(kind, kind.namespaced() ? namespace : "", name);
  }

  private static <T> T await(java.util.concurrent.CompletableFuture<T> future) throws IOException {
    try {
      return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      String message = String.valueOf(cause.getMessage());
      if (message.contains("too many operations in txn request")) {
        throw new IOException(
            "etcd refused a transaction of this size (its --max-txn-ops is too low for this"
                + " apply; fedmesh's etcd runs with --max-txn-ops=4096): apply fewer policies"
                + " at once or raise the limit",
            cause);
      }
      throw new IOException("etcd: " + message, cause);
    } catch (TimeoutException e) {
      throw new IOException("etcd did not answer within " + TIMEOUT_SECONDS + " s", e);
    }
  }
}
