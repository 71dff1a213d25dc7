package dev.fedmesh.proxy.upstream;

/**
 * How a request to a host ended badly, in Envoy's two families: errors that originate at the proxy
 * (the host never answered) and errors the host itself reported.
 */
public enum FailureKind {
  /** The connection could not be made (refused, unreachable, connect timeout). Local origin. */
  CONNECT_FAILURE(true),
  /** The connection broke before a complete response. Local origin. */
  RESET(true),
  /** No response within the per-try timeout. Local origin. */
  TIMEOUT(true),
  /** The host answered 502, 503 or 504. */
  GATEWAY_ERROR(false),
  /** The host answered another 5xx. */
  SERVER_ERROR(false);

  private final boolean localOrigin;

  FailureKind(boolean localOrigin) {
    this.localOrigin = localOrigin;
  }

  /** Whether the proxy saw this failure itself rather than being told by the host. */
  public boolean localOrigin() {
    return localOrigin;
  }

  /** The failure an HTTP status means, or null for a status that is not a failure. */
  public static FailureKind ofStatus(int status) {
    if (status == 502 || status == 503 || status == 504) {
      return GATEWAY_ERROR;
    }
    return status >= 500 && status <= 599 ? SERVER_ERROR : null;
  }
}
