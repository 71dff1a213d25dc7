package dev.fedmesh.gateway;

/**
 * Why the gateway closed a connection without forwarding a byte of it. The label value is what
 * {@code fedmesh_gateway_refused_connections_total{reason}} shows.
 */
public enum RefusalReason {
  /** The first bytes are not a TLS handshake record carrying a ClientHello (plaintext, say). */
  NOT_TLS("not_tls"),
  /** A ClientHello whose fields do not parse. */
  MALFORMED_HELLO("malformed_hello"),
  /** A ClientHello without a server name. */
  NO_SNI("no_sni"),
  /** A server name no filter chain routes: the service is not exported, or does not exist. */
  UNKNOWN_SNI("unknown_sni"),
  /** The ClientHello did not arrive complete in time. */
  HELLO_TIMEOUT("hello_timeout"),
  /** The ClientHello is longer than the gateway buffers. */
  HELLO_TOO_LARGE("hello_too_large"),
  /** The client closed before its ClientHello was complete. */
  CLOSED_BEFORE_HELLO("closed_before_hello"),
  /** The route's cluster has no endpoint that may take a connection. */
  NO_HEALTHY_UPSTREAM("no_healthy_upstream"),
  /** The cluster's circuit breaker allows no more connections. */
  UPSTREAM_OVERFLOW("upstream_overflow"),
  /** Every endpoint tried refused or timed out. */
  UPSTREAM_CONNECT_FAILED("upstream_connect_failed");

  private final String label;

  RefusalReason(String label) {
    this.label = label;
  }

  /** The metric label value. */
  public String label() {
    return label;
  }
}
