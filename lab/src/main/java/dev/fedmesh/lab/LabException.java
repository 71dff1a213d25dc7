package dev.fedmesh.lab;

/** The lab cannot do what was asked; the message says why and what to do. */
public final class LabException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LabException(String message) {
    super(message);
  }
}
