package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Istio's {@code PeerAuthentication}: whether workloads take mutual TLS only (STRICT), mutual TLS
 * and plain text (PERMISSIVE) or plain text only (DISABLE), for the mesh (in the root namespace), a
 * namespace, or selected workloads, with per-port overrides.
 *
 * @param mode the mode, or empty (UNSET) to inherit the enclosing scope's
 * @param portLevelMtls per workload port, its mode
 */
public record PeerAuthentication(
    ObjectMeta metadata,
    WorkloadSelector selector,
    Optional<String> mode,
    Map<Integer, String> portLevelMtls)
    implements Policy {

  public static final String STRICT = "STRICT";
  public static final String PERMISSIVE = "PERMISSIVE";
  public static final String DISABLE = "DISABLE";

  public PeerAuthentication {
    requireNonNull(metadata, "metadata");
    requireNonNull(selector, "selector");
    portLevelMtls = Map.copyOf(portLevelMtls);
  }

  @Override
  public PeerAuthentication withMetadata(ObjectMeta metadata) {
    return new PeerAuthentication(metadata, selector, mode, portLevelMtls);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.PEER_AUTHENTICATION;
  }

  static PeerAuthentication parse(ObjectMeta metadata, Fields spec) {
    WorkloadSelector selector = WorkloadSelector.parse(spec);
    Optional<String> mode = Optional.empty();
    Optional<Fields> mtls = spec.object("mtls");
    if (mtls.isPresent()) {
      mode = mode(mtls.get());
      mtls.get().end();
    }
    Map<Integer, String> ports = new TreeMap<>();
    Map<String, Fields> written = spec.objectMap("portLevelMtls");
    if (!written.isEmpty() && selector.selectsAll()) {
      spec.error(
          "portLevelMtls",
          "set without a selector (expected: a selector; Istio applies port settings to selected workloads only)");
    }
    for (Map.Entry<String, Fields> entry : written.entrySet()) {
      int port;
      try {
        port = Integer.parseInt(entry.getKey());
      } catch (NumberFormatException e) {
        port = 0;
      }
      if (port < 1 || port > 65535) {
        spec.error("portLevelMtls." + entry.getKey(), "not a port (expected: 1..65535)");
      }
      Optional<String> portMode = mode(entry.getValue());
      entry.getValue().end();
      if (port > 0 && port <= 65535 && portMode.isPresent()) {
        ports.put(port, portMode.get());
      }
    }
    spec.unsupported("targetRef");
    spec.unsupported("targetRefs");
    spec.end();
    return new PeerAuthentication(metadata, selector, mode, ports);
  }

  private static Optional<String> mode(Fields mtls) {
    return mtls.oneOf("mode", "UNSET", STRICT, PERMISSIVE, DISABLE).filter(m -> !m.equals("UNSET"));
  }
}
