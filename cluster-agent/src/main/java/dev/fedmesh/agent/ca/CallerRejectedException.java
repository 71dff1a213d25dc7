package dev.fedmesh.agent.ca;

/** A caller the cluster does not vouch for; the message says why, for the caller's logs. */
public final class CallerRejectedException extends Exception {
  private static final long serialVersionUID = 1L;

  public CallerRejectedException(String message) {
    super(message);
  }

  public CallerRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
