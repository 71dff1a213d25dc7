package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;

/**
 * One port the sidecar takes inbound traffic on for its application, as Istio's Sidecar resource
 * {@code ingress} entry has it: where to listen, where the application listens, what it speaks, and
 * whether plaintext is refused.
 *
 * @param listen the address the sidecar binds (the pod's address and the service's target port)
 * @param app where the application listens (the pod's own loopback)
 * @param protocol HTTP (HTTP/1.1 and HTTP/2, gRPC included) or opaque TCP
 * @param mode STRICT refuses plaintext; PERMISSIVE accepts both, telling them apart by the first
 *     bytes
 */
public record InboundPort(
    InetSocketAddress listen, InetSocketAddress app, AppProtocol protocol, TlsMode mode) {
  /** What the application on a port speaks. */
  public enum AppProtocol {
    HTTP,
    HTTP2,
    TCP
  }

  /** Whether plaintext is accepted (Istio's PeerAuthentication modes). */
  public enum TlsMode {
    STRICT,
    PERMISSIVE
  }

  public InboundPort {
    requireNonNull(listen, "listen");
    requireNonNull(app, "app");
    requireNonNull(protocol, "protocol");
    requireNonNull(mode, "mode");
  }
}
