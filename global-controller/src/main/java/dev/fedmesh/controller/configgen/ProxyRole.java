package dev.fedmesh.controller.configgen;

import java.util.Locale;
import java.util.Optional;

/** What kind of xDS client a proxy is; it decides the shape of its listeners. */
public enum ProxyRole {
  /** A gRPC application with its own xDS client (grpc-java's {@code xds:///} targets). */
  PROXYLESS_GRPC("grpc"),
  /** A per-pod sidecar proxy. */
  SIDECAR("sidecar"),
  /** A cluster's east-west gateway. */
  GATEWAY("gateway");

  private final String metadataValue;

  ProxyRole(String metadataValue) {
    this.metadataValue = metadataValue;
  }

  /** The value of the node metadata field {@code FEDMESH_ROLE} that selects this role. */
  public String metadataValue() {
    return metadataValue;
  }

  public static Optional<ProxyRole> fromMetadata(String value) {
    String normalized = value.toLowerCase(Locale.ROOT);
    for (ProxyRole role : values()) {
      if (role.metadataValue.equals(normalized)) {
        return Optional.of(role);
      }
    }
    return Optional.empty();
  }
}
