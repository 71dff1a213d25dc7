package dev.fedmesh.model.policy;

/** One policy document, parsed and valid on its own. */
public sealed interface Policy
    permits VirtualService,
        DestinationRule,
        PeerAuthentication,
        AuthorizationPolicy,
        MeshConfig,
        GatewayRoute,
        TrafficSplit,
        ServiceExport,
        ServiceEntry {
  PolicyKind kind();

  ObjectMeta metadata();

  /** The same policy with other metadata (the store's resourceVersion and generation). */
  Policy withMetadata(ObjectMeta metadata);

  /** {@code kind/namespace/name}, or {@code kind/name} for mesh-wide kinds. */
  default String id() {
    return kind().kind()
        + "/"
        + (metadata().namespace().isEmpty() ? "" : metadata().namespace() + "/")
        + metadata().name();
  }
}
