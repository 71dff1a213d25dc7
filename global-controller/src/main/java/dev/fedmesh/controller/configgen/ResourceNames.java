package dev.fedmesh.controller.configgen;

import dev.fedmesh.model.ServiceKey;

/** Resource names, as Istio spells them, so tools and people used to Istio read ours. */
public final class ResourceNames {
  private ResourceNames() {}

  /** {@code outbound|<port>|<subset>|<fqdn>}: the cluster (and EDS resource) of a service port. */
  public static String outboundCluster(ServiceKey service, int port, String subset) {
    return "outbound|" + port + "|" + subset + "|" + service.fqdn();
  }

  /** {@code <fqdn>:<port>}: the target a gRPC client dials as {@code xds:///<fqdn>:<port>}. */
  public static String hostPort(ServiceKey service, int port) {
    return service.fqdn() + ":" + port;
  }

  /** {@code outbound_.<port>_.<subset>_.<fqdn>}: the SNI that names a service at a gateway. */
  public static String gatewaySni(ServiceKey service, int port, String subset) {
    return "outbound_." + port + "_." + subset + "_." + service.fqdn();
  }
}
