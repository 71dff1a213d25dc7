package dev.fedmesh.model;

/** The application protocol of a service port; it decides which features the mesh can apply. */
public enum Protocol {
  TCP,
  HTTP,
  HTTP2,
  GRPC,
  TLS;

  /** Whether the mesh understands requests on this port (routing, retries per request). */
  public boolean isHttp() {
    return this == HTTP || this == HTTP2 || this == GRPC;
  }
}
