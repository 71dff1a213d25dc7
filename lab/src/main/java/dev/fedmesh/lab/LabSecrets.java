package dev.fedmesh.lab;

import dev.fedmesh.controller.AgentTokens;
import dev.fedmesh.lab.cluster.ClusterSpec;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The lab's credentials, made fresh by every {@code lab up} and kept in its directory readable by
 * the user only: the controller's SVID ({@code ca/controller/}), one agent token per cluster (the
 * controller keeps their digests in {@code agents.yaml}), the admin token the CLI presents, and the
 * token of the clusters' fault-injection endpoints.
 */
final class LabSecrets {
  static final String ADMIN_TOKEN = "admin-token";
  static final String CONTROL_TOKEN = "control-token";
  static final String AGENT_TOKENS = "agents.yaml";
  static final String CONTROLLER_TLS = "ca/controller";

  /** How long the controller's certificate lives; the lab does not rotate it. */
  static final Duration CONTROLLER_CERTIFICATE_TTL = Duration.ofDays(30);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final Map<String, String> agentTokens;

  private LabSecrets(Path dir, Map<String, String> agentTokens) {
    this.dir = dir;
    this.agentTokens = agentTokens;
  }

  /**
   * Writes a fresh set for {@code members}, the controller's SVID issued under {@code root}. Each
   * cluster may announce endpoints only in its own loopback range and only its own gateway.
   */
  static LabSecrets create(Path dir, RootCa root, List<LabTopology.Member> members)
      throws IOException {
    List<String> clusters = members.stream().map(LabTopology.Member::name).toList();
    writePrivate(dir.resolve(ADMIN_TOKEN), token());
    writePrivate(dir.resolve(CONTROL_TOKEN), token());
    Map<String, String> agentTokens = new LinkedHashMap<>();
    StringBuilder yaml =
        new StringBuilder("# Written by 'fedmesh lab up': who may speak for which cluster.\n");
    yaml.append("agents:\n");
    for (String cluster : clusters) {
      String token = token();
      agentTokens.put(cluster, token);
      yaml.append("  - name: ")
          .append(cluster)
          .append("-agent\n    tokenSha256: ")
          .append(AgentTokens.sha256(token))
          .append("\n    clusters: [")
          .append(cluster)
          .append("]\n");
    }
    yaml.append("clusters:\n");
    for (LabTopology.Member member : members) {
      yaml.append("  - name: ")
          .append(member.name())
          .append("\n    networks: [")
          .append(member.prefix())
          .append(".0.0/16]\n    gateways: [")
          .append(member.prefix())
          .append(".0.1:")
          .append(ClusterSpec.GATEWAY_PORT)
          .append("]\n");
    }
    writePrivate(dir.resolve(AGENT_TOKENS), yaml.toString());
    // The control plane's own intermediate, beside the clusters' ones, issues the controller's
    // SVID.
    SvidIssuer controlPlane =
        SvidIssuer.of(
            root.issueIntermediate(
                IntermediateSpec.of(ClusterName.of("control-plane")), Clock.systemUTC()),
            SvidPolicy.of(CONTROLLER_CERTIFICATE_TTL, CONTROLLER_CERTIFICATE_TTL),
            Clock.systemUTC());
    SvidCredential controller =
        ControlPlaneTls.issue(
            controlPlane,
            CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-controller"),
            CONTROLLER_CERTIFICATE_TTL);
    SvidFiles.write(dir.resolve(CONTROLLER_TLS), controller, List.of(root.certificate()));
    return new LabSecrets(dir, agentTokens);
  }

  String agentToken(String cluster) {
    return agentTokens.get(cluster);
  }

  static String controlToken(Path dir) throws IOException {
    return Files.readString(dir.resolve(CONTROL_TOKEN)).strip();
  }

  /** The admin token of the lab in {@code dir}, if it has one. */
  static Optional<String> adminToken(Path dir) {
    try {
      return Optional.of(Files.readString(dir.resolve(ADMIN_TOKEN)).strip());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  Path controllerTls() {
    return dir.resolve(CONTROLLER_TLS);
  }

  private static String token() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** Writes {@code content} to a file only its owner may read or write (0600), replacing it. */
  static void writePrivate(Path file, String content) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.deleteIfExists(file);
    Files.createFile(
        file,
        PosixFilePermissions.asFileAttribute(
            Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
    Files.writeString(file, content);
  }
}
