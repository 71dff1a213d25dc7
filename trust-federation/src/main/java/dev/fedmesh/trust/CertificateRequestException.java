package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A certificate request the CA refused, with every problem it found, each naming the field and the
 * expectation ({@code csr.key: RSA 1024 bits (expected: RSA >= 2048 or ECDSA P-256/P-384)}).
 */
public final class CertificateRequestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the request was refused, so that transports can map it to their own status codes. */
  public enum Reason {
    /** The request itself is malformed or asks for something not allowed. */
    INVALID_REQUEST,
    /** The request names an identity other than the authenticated caller's. */
    IDENTITY_MISMATCH,
    /** The CA cannot issue right now, e.g. its certificate expired. */
    CA_UNAVAILABLE
  }

  private final Reason reason;
  private final List<String> problems;

  public CertificateRequestException(Reason reason, List<String> problems) {
    super(String.join("; ", requireNonNull(problems, "problems")));
    this.reason = requireNonNull(reason, "reason");
    this.problems = List.copyOf(problems);
  }

  public Reason reason() {
    return reason;
  }

  public List<String> problems() {
    return problems;
  }
}
