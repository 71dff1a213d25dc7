package dev.fedmesh.controller;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fedmesh.model.ClusterName;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Who may speak for which cluster. An agent sends {@code authorization: Bearer <token>}; the
 * controller finds the agent identity the token belongs to and refuses a Hello for a cluster that
 * identity was not given. The file holds SHA-256 digests of tokens, never tokens:
 *
 * <pre>
 * agents:
 *   - name: east-agent
 *     tokenSha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *     clusters: [east]
 * </pre>
 */
public final class AgentTokens {
  /** No authentication: every caller is {@link Identity#ANONYMOUS}, for any cluster (labs). */
  public static final AgentTokens OPEN = new AgentTokens(Map.of(), true);

  private final Map<String, Identity> byDigest;
  private final boolean open;

  private AgentTokens(Map<String, Identity> byDigest, boolean open) {
    this.byDigest = Map.copyOf(byDigest);
    this.open = open;
  }

  /** An agent identity and the clusters it may speak for. */
  public record Identity(String name, Set<ClusterName> clusters) {
    public static final Identity ANONYMOUS = new Identity("anonymous", Set.of());

    public Identity {
      requireNonNull(name, "name");
      clusters = Set.copyOf(clusters);
    }

    public boolean mayServe(ClusterName cluster) {
      return this == ANONYMOUS || clusters.contains(cluster);
    }
  }

  public boolean isOpen() {
    return open;
  }

  /** The identity a bearer token (possibly absent) proves, or empty if it proves none. */
  public Optional<Identity> authenticate(String bearerToken) {
    if (open) {
      return Optional.of(Identity.ANONYMOUS);
    }
    if (bearerToken == null || bearerToken.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(byDigest.get(sha256(bearerToken)));
  }

  public static String sha256(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  /** Reads a tokens file; every problem is reported with its place in the file. */
  public static AgentTokens load(Path file) throws IOException {
    ObjectMapper yaml =
        new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    Document document = yaml.readValue(file.toFile(), Document.class);
    List<String> problems = new ArrayList<>();
    Map<String, Identity> byDigest = new TreeMap<>();
    Set<String> names = new HashSet<>();
    List<AgentDoc> agents =
        document == null || document.agents == null ? List.of() : document.agents;
    for (int i = 0; i < agents.size(); i++) {
      AgentDoc agent = agents.get(i);
      String where = file + ": agents[" + i + "].";
      if (agent.name == null || agent.name.isBlank()) {
        problems.add(where + "name: missing (expected: the agent's name)");
        continue;
      }
      if (!names.add(agent.name)) {
        problems.add(where + "name: '" + agent.name + "' (expected: unique)");
      }
      if (agent.tokenSha256 == null || !agent.tokenSha256.matches("[0-9a-f]{64}")) {
        problems.add(
            where + "tokenSha256: (expected: 64 lower-case hex digits, sha256 of the token)");
        continue;
      }
      Set<ClusterName> clusters = new HashSet<>();
      for (String cluster : agent.clusters == null ? List.<String>of() : agent.clusters) {
        try {
          clusters.add(ClusterName.of(cluster));
        } catch (IllegalArgumentException e) {
          problems.add(where + "clusters: " + e.getMessage());
        }
      }
      if (clusters.isEmpty()) {
        problems.add(where + "clusters: none (expected: the clusters this agent may speak for)");
      }
      if (byDigest.put(agent.tokenSha256, new Identity(agent.name, clusters)) != null) {
        problems.add(where + "tokenSha256: used by another agent (expected: one token per agent)");
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    return new AgentTokens(byDigest, false);
  }

  static final class Document {
    @JsonProperty List<AgentDoc> agents;
  }

  static final class AgentDoc {
    @JsonProperty String name;
    @JsonProperty String tokenSha256;
    @JsonProperty List<String> clusters;
  }
}
