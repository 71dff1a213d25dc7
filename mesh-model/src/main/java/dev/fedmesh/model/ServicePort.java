package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

/** A port a service exposes, named as in the Kubernetes Service. */
public record ServicePort(String name, int port, Protocol protocol) {
  public ServicePort {
    requireNonNull(name, "name");
    requireNonNull(protocol, "protocol");
    Ports.check("port", port);
  }
}
