package dev.fedmesh.trust.ca;

/** Credentials that do not establish a caller; the message says what was wrong with them. */
public final class AuthenticationException extends Exception {
  private static final long serialVersionUID = 1L;

  public AuthenticationException(String message) {
    super(message);
  }
}
