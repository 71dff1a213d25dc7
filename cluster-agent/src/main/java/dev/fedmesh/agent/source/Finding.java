package dev.fedmesh.agent.source;

import static java.util.Objects.requireNonNull;

/**
 * Something about a cluster's configuration that silently costs mesh features, such as a service
 * port whose protocol the mesh cannot tell. The agent reports findings in its status so that {@code
 * fedmesh analyze} and people can see them.
 *
 * @param kind what is wrong, as a stable identifier such as {@code PortProtocolUnknown}
 * @param namespace the namespace of the object concerned
 * @param name the name of the object concerned (a Service, or a ServiceImport)
 * @param port the port concerned, or 0 when the finding is not about one port
 * @param message what happens because of it and how to fix it
 */
public record Finding(String kind, String namespace, String name, int port, String message) {
  /** A service port with neither {@code appProtocol} nor a known name prefix: treated as TCP. */
  public static final String PORT_PROTOCOL_UNKNOWN = "PortProtocolUnknown";

  /**
   * Something the controller refused of what the agent sent (an endpoint outside the cluster's
   * declared networks, say); the controller keeps the last state it accepted.
   */
  public static final String REFUSED_BY_CONTROLLER = "RefusedByController";

  /** A Service the mesh cannot represent; it is not announced. */
  public static final String SERVICE_NOT_ANNOUNCED = "ServiceNotAnnounced";

  /**
   * An entry of the controller's import set that the agent cannot use (a field out of range); that
   * service's ServiceImport is neither made nor changed.
   */
  public static final String IMPORT_INVALID = "ImportInvalid";

  /**
   * A ServiceImport with an imported service's name exists but fedmesh did not make it: it is left
   * as it is, and the cluster does not get fedmesh's view of that service.
   */
  public static final String SERVICE_IMPORT_NOT_OWNED = "ServiceImportNotOwned";

  /**
   * An imported service's namespace does not exist in this cluster: no ServiceImport until it does.
   */
  public static final String IMPORT_NAMESPACE_MISSING = "ImportNamespaceMissing";

  /**
   * The API server did not take a ServiceImport write (or list) of the agent: retried, or for a
   * refusal, tried again at the next resync.
   */
  public static final String SERVICE_IMPORT_NOT_WRITTEN = "ServiceImportNotWritten";

  public Finding {
    requireNonNull(kind, "kind");
    requireNonNull(namespace, "namespace");
    requireNonNull(name, "name");
    requireNonNull(message, "message");
  }
}
