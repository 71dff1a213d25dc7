package dev.fedmesh.model;

/**
 * The xDS node metadata keys a proxy announces and the controller reads, defined once for every
 * module (sidecar, gateway, controller, test clients). Names follow Istio's where Istio has one, so
 * tools that read Istio nodes read ours.
 */
public final class NodeMetadata {
  private NodeMetadata() {}

  /** {@code grpc} (proxyless gRPC, the default), {@code sidecar} or {@code gateway}. */
  public static final String ROLE = "FEDMESH_ROLE";

  /** The member cluster the proxy runs in; defaults to the node's {@code cluster}. */
  public static final String CLUSTER = "FEDMESH_CLUSTER";

  /** The proxy's network; empty reaches every endpoint directly. */
  public static final String NETWORK = "NETWORK";

  /** The proxy's namespace; must match the namespace of its certificate's SPIFFE ID. */
  public static final String NAMESPACE = "NAMESPACE";

  /** The proxy's service account; must match the one of its certificate's SPIFFE ID. */
  public static final String SERVICE_ACCOUNT = "SERVICE_ACCOUNT";

  /** The workload's labels, a struct of strings. */
  public static final String LABELS = "LABELS";

  /** The workload's addresses, a list of strings. */
  public static final String INSTANCE_IPS = "INSTANCE_IPS";

  /**
   * {@code "true"} when the pod's DNS queries are redirected to the sidecar (Istio's {@code
   * DNS_CAPTURE}): the controller then sends the sidecar its DNS listener ({@link
   * XdsNames#DNS_LISTENER}). A string; anything but {@code "true"} means off.
   */
  public static final String DNS_CAPTURE = "DNS_CAPTURE";

  /** Values of {@link #ROLE}. */
  public static final String ROLE_GRPC = "grpc";

  public static final String ROLE_SIDECAR = "sidecar";
  public static final String ROLE_GATEWAY = "gateway";
}
