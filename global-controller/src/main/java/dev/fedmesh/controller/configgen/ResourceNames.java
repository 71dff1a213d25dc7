package dev.fedmesh.controller.configgen;

import dev.fedmesh.model.ServiceKey;

/** Resource names, as Istio spells them, so tools and people used to Istio read ours. */
public final class ResourceNames {
  private ResourceNames() {}

  /** {@code outbound|<port>|<subset>|<fqdn>}: the cluster (and EDS resource) of a service port. */
  public static String outboundCluster(ServiceKey service, int port, String subset) {
    return outboundCluster(service.fqdn(), port, subset);
  }

  /** {@code outbound|<port>|<subset>|<host>}: the cluster of any host's port (a ServiceEntry's). */
  public static String outboundCluster(String host, int port, String subset) {
    return "outbound|" + port + "|" + subset + "|" + host;
  }

  /** {@code <fqdn>:<port>}: the target a gRPC client dials as {@code xds:///<fqdn>:<port>}. */
  public static String hostPort(ServiceKey service, int port) {
    return service.fqdn() + ":" + port;
  }

  /** {@code outbound_.<port>_.<subset>_.<fqdn>}: the SNI that names a service at a gateway. */
  public static String gatewaySni(ServiceKey service, int port, String subset) {
    return gatewaySni(service.fqdn(), port, subset);
  }

  /** {@code outbound_.<port>_.<subset>_.<host>} for any host (a MESH_INTERNAL ServiceEntry's). */
  public static String gatewaySni(String host, int port, String subset) {
    return "outbound_." + port + "_." + subset + "_." + host;
  }
}
