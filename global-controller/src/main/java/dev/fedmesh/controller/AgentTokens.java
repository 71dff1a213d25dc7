package dev.fedmesh.controller;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fedmesh.model.Addresses;
import dev.fedmesh.model.Cidr;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.ServiceEndpoints;
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
 * clusters:                       # optional: what each cluster may announce
 *   - name: east
 *     networks: [10.1.0.0/16]     # endpoint addresses must lie in one of these
 *     gateways: [203.0.113.10:15443]
 * </pre>
 *
 * A cluster listed under {@code clusters} may announce only endpoints inside its networks and only
 * its own gateway addresses, so an agent (or whoever stole its token) cannot point another
 * cluster's traffic somewhere else. A cluster not listed is not restricted.
 */
public final class AgentTokens {
  /** No authentication: every caller is {@link Identity#ANONYMOUS}, for any cluster (labs). */
  public static final AgentTokens OPEN = new AgentTokens(Map.of(), true, Map.of());

  private final Map<String, Identity> byDigest;
  private final boolean open;
  private final Map<ClusterName, ClusterBounds> bounds;

  private AgentTokens(
      Map<String, Identity> byDigest, boolean open, Map<ClusterName, ClusterBounds> bounds) {
    this.byDigest = Map.copyOf(byDigest);
    this.open = open;
    this.bounds = Map.copyOf(bounds);
  }

  /** What {@code cluster} may announce, when the file declares it. */
  public Optional<ClusterBounds> bounds(ClusterName cluster) {
    return Optional.ofNullable(bounds.get(cluster));
  }

  /**
   * The networks a cluster's endpoints must lie in and the gateway addresses it may announce.
   *
   * @param networks endpoint addresses must be in one of these; empty: any
   * @param gateways the only gateway addresses it may announce; empty: any
   */
  public record ClusterBounds(ClusterName cluster, List<Cidr> networks, List<String> gateways) {
    public ClusterBounds {
      requireNonNull(cluster, "cluster");
      networks = List.copyOf(networks);
      gateways = List.copyOf(gateways);
    }

    /** Why the announced gateways are refused, or empty. */
    public Optional<String> gatewayProblem(List<GatewayAddress> announced) {
      if (gateways.isEmpty()) {
        return Optional.empty();
      }
      for (int i = 0; i < announced.size(); i++) {
        GatewayAddress gateway = announced.get(i);
        String address = hostPort(gateway.address(), gateway.port());
        if (!gateways.contains(address)) {
          return Optional.of(
              "hello.gateways["
                  + i
                  + "]: '"
                  + address
                  + "' (expected: one of cluster "
                  + cluster
                  + "'s declared gateways "
                  + gateways
                  + ")");
        }
      }
      return Optional.empty();
    }

    /** Why the endpoints of a service state are refused, or empty. */
    public Optional<String> endpointProblem(ServiceEndpoints shard) {
      if (networks.isEmpty()) {
        return Optional.empty();
      }
      List<String> outside = new ArrayList<>();
      for (int i = 0; i < shard.endpoints().size(); i++) {
        String address = shard.endpoints().get(i).address();
        if (networks.stream().noneMatch(network -> network.contains(address))) {
          outside.add("endpoints[" + i + "].address: '" + address + "'");
        }
      }
      if (outside.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(
          "service "
              + shard.service()
              + ": "
              + String.join(", ", outside)
              + " (expected: inside cluster "
              + cluster
              + "'s networks "
              + networks
              + ")");
    }
  }

  private static String hostPort(String address, int port) {
    return (address.contains(":") ? "[" + address + "]" : address) + ":" + port;
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
    Map<ClusterName, ClusterBounds> bounds = new TreeMap<>();
    List<ClusterDoc> clusters =
        document == null || document.clusters == null ? List.of() : document.clusters;
    for (int i = 0; i < clusters.size(); i++) {
      ClusterDoc cluster = clusters.get(i);
      String where = file + ": clusters[" + i + "].";
      ClusterName name;
      try {
        name = ClusterName.of(cluster.name == null ? "" : cluster.name);
      } catch (IllegalArgumentException e) {
        problems.add(where + "name: " + e.getMessage());
        continue;
      }
      List<Cidr> networks = new ArrayList<>();
      List<String> networkDocs = cluster.networks == null ? List.of() : cluster.networks;
      for (int n = 0; n < networkDocs.size(); n++) {
        try {
          networks.add(Cidr.parse(networkDocs.get(n)));
        } catch (IllegalArgumentException e) {
          problems.add(where + "networks[" + n + "]: " + e.getMessage());
        }
      }
      List<String> gateways = new ArrayList<>();
      List<String> gatewayDocs = cluster.gateways == null ? List.of() : cluster.gateways;
      for (int g = 0; g < gatewayDocs.size(); g++) {
        String gateway = gatewayDocs.get(g);
        int colon = gateway == null ? -1 : gateway.lastIndexOf(':');
        String host =
            colon <= 0 ? "" : gateway.substring(0, colon).replace("[", "").replace("]", "");
        if (colon <= 0
            || !Addresses.isIpLiteral(host)
            || !gateway.substring(colon + 1).matches("\\d{1,5}")) {
          problems.add(
              where + "gateways[" + g + "]: '" + gateway + "' (expected: address:port, an IP)");
          continue;
        }
        gateways.add(hostPort(host, Integer.parseInt(gateway.substring(colon + 1))));
      }
      if (bounds.put(name, new ClusterBounds(name, networks, gateways)) != null) {
        problems.add(where + "name: '" + name + "' (expected: each cluster once)");
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    return new AgentTokens(byDigest, false, bounds);
  }

  static final class Document {
    @JsonProperty List<AgentDoc> agents;
    @JsonProperty List<ClusterDoc> clusters;
  }

  static final class ClusterDoc {
    @JsonProperty String name;
    @JsonProperty List<String> networks;
    @JsonProperty List<String> gateways;
  }

  static final class AgentDoc {
    @JsonProperty String name;
    @JsonProperty String tokenSha256;
    @JsonProperty List<String> clusters;
  }
}
