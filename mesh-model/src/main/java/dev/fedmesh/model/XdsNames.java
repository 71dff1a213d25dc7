package dev.fedmesh.model;

/**
 * The names of the xDS resources whose meaning the controller and the proxies agree on by name
 * (Istio's names, so Envoy users and tools find them): defined once for every module.
 */
public final class XdsNames {
  private XdsNames() {}

  /** The sidecar's outbound listener (15001): explicit proxy and outbound capture. */
  public static final String VIRTUAL_OUTBOUND = "virtualOutbound";

  /** The sidecar's inbound policy listener (15006): filter chains per port and transport. */
  public static final String VIRTUAL_INBOUND = "virtualInbound";

  /** The cluster of outbound traffic to destinations the mesh does not know, under ALLOW_ANY. */
  public static final String PASSTHROUGH_CLUSTER = "PassthroughCluster";

  /**
   * The cluster of outbound traffic to destinations the mesh does not know, under REGISTRY_ONLY.
   */
  public static final String BLACKHOLE_CLUSTER = "BlackHoleCluster";
}
