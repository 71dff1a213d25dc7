package dev.fedmesh.model.policy;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The kinds of policy documents fedmesh accepts, with the API versions users write them in. */
public enum PolicyKind {
  VIRTUAL_SERVICE("VirtualService", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  DESTINATION_RULE("DestinationRule", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3")),
  PEER_AUTHENTICATION("PeerAuthentication", "security.istio.io", List.of("v1", "v1beta1")),
  AUTHORIZATION_POLICY("AuthorizationPolicy", "security.istio.io", List.of("v1", "v1beta1")),
  MESH_CONFIG("MeshConfig", "fedmesh.dev", List.of("v1alpha1")),
  HTTP_ROUTE("HTTPRoute", "gateway.networking.k8s.io", List.of("v1", "v1beta1")),
  GRPC_ROUTE("GRPCRoute", "gateway.networking.k8s.io", List.of("v1")),
  TRAFFIC_SPLIT("TrafficSplit", "split.smi-spec.io", List.of("v1alpha4", "v1alpha3", "v1alpha2")),
  SERVICE_EXPORT("ServiceExport", "multicluster.x-k8s.io", List.of("v1alpha1")),
  SERVICE_ENTRY("ServiceEntry", "networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"));

  private final String kind;
  private final String group;
  private final List<String> versions;

  PolicyKind(String kind, String group, List<String> versions) {
    this.kind = kind;
    this.group = group;
    this.versions = versions;
  }

  /** The {@code kind} field's value. */
  public String kind() {
    return kind;
  }

  public String group() {
    return group;
  }

  /** Every {@code apiVersion} this kind is accepted in, newest first. */
  public List<String> apiVersions() {
    return versions.stream().map(v -> group + "/" + v).toList();
  }

  /** Whether documents of this kind live in a namespace (MeshConfig is mesh-wide). */
  public boolean namespaced() {
    return this != MESH_CONFIG;
  }

  /** The lower-case plural used in store keys and on the command line: {@code virtualservices}. */
  public String plural() {
    String lower = kind.toLowerCase(Locale.ROOT);
    return lower.endsWith("y") ? lower.substring(0, lower.length() - 1) + "ies" : lower + "s";
  }

  /** A kind by its {@code kind} field, plural, or singular lower-case name (as kubectl accepts). */
  public static Optional<PolicyKind> named(String name) {
    for (PolicyKind kind : values()) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (kind.kind.equals(name)
          || kind.plural().equals(lower)
          || kind.kind.toLowerCase(Locale.ROOT).equals(lower)
          || kind.shortName().equals(lower)) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }

  /**
   * kubectl's short name: {@code vs}, {@code dr}, {@code meshconfig}; the Gateway API kinds have
   * none, so their singular is used.
   */
  public String shortName() {
    return switch (this) {
      case VIRTUAL_SERVICE -> "vs";
      case DESTINATION_RULE -> "dr";
      case PEER_AUTHENTICATION -> "pa";
      case AUTHORIZATION_POLICY -> "ap";
      case MESH_CONFIG -> "meshconfig";
      case HTTP_ROUTE -> "httproute";
      case GRPC_ROUTE -> "grpcroute";
      case TRAFFIC_SPLIT -> "ts";
      case SERVICE_EXPORT -> "svcexport";
      case SERVICE_ENTRY -> "se";
    };
  }
}
