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

  /**
   * The sidecar's DNS listener: a UDP listener on 127.0.0.1:{@link #DNS_PORT} whose only listener
   * filter is Envoy's DNS filter ({@link #DNS_FILTER}, a {@code DnsFilterConfig} with the names the
   * proxy answers in its inline table); the sidecar serves the same table over TCP on the same
   * port.
   */
  public static final String DNS_LISTENER = "dns";

  /** The port of {@link #DNS_LISTENER}, Istio's: the injector redirects port 53 to it. */
  public static final int DNS_PORT = 15053;

  /** The name of Envoy's DNS filter, the UDP listener filter of {@link #DNS_LISTENER}. */
  public static final String DNS_FILTER = "envoy.filters.udp.dns_filter";
}
