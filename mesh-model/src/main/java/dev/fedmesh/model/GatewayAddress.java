package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

/** An address where a cluster's east-west gateway accepts traffic from other networks. */
public record GatewayAddress(String address, int port) {
  public GatewayAddress {
    requireNonNull(address, "address");
    if (!Addresses.isIpLiteral(address)) {
      throw new IllegalArgumentException(
          "gateways.address: '" + address + "' (expected: an IPv4 or IPv6 address)");
    }
    Ports.check("gateways.port", port);
  }
}
