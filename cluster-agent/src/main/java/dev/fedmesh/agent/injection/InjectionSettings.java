package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

/**
 * What the injector puts into pods: the images, and the bootstrap settings every sidecar of this
 * cluster starts with. Locality is not among them: a sidecar reads its node's topology labels at
 * runtime, from the node name the downward API gives it.
 *
 * @param proxyImage the {@code fedmesh-proxy} container's image
 * @param initImage the image of the init container that sets up traffic redirection (needs {@code
 *     iptables} and {@code sh})
 * @param cluster this cluster's name
 * @param network this cluster's network
 * @param trustDomain the SPIFFE trust domain of the cluster's workloads
 * @param controllerAddress where sidecars get their configuration (xDS), {@code host:port}
 * @param caAddress where sidecars get their certificates (the cluster agent's CA), {@code
 *     host:port}
 * @param proxyUid the user and group id the proxy runs as; its own traffic is not redirected
 * @param dnsCapture whether injected pods' DNS queries (port 53, UDP and TCP) go to their sidecar's
 *     DNS listener; a pod's {@value SidecarInjector#DNS_CAPTURE_ANNOTATION} annotation decides for
 *     itself
 * @param region the cluster's region, which injected sidecars announce as their own (their node's
 *     zone is not known when the pod is admitted); empty for none
 */
public record InjectionSettings(
    String proxyImage,
    String initImage,
    String cluster,
    String network,
    String trustDomain,
    String controllerAddress,
    String caAddress,
    long proxyUid,
    boolean dnsCapture,
    String region) {

  /** Settings without a region. */
  public InjectionSettings(
      String proxyImage,
      String initImage,
      String cluster,
      String network,
      String trustDomain,
      String controllerAddress,
      String caAddress,
      long proxyUid,
      boolean dnsCapture) {
    this(
        proxyImage,
        initImage,
        cluster,
        network,
        trustDomain,
        controllerAddress,
        caAddress,
        proxyUid,
        dnsCapture,
        "");
  }

  /** Istio's choice, which tools and policies already expect. */
  public static final long DEFAULT_PROXY_UID = 1337;

  public InjectionSettings {
    requireNonNull(proxyImage, "proxyImage");
    requireNonNull(initImage, "initImage");
    requireNonNull(cluster, "cluster");
    requireNonNull(network, "network");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(controllerAddress, "controllerAddress");
    requireNonNull(caAddress, "caAddress");
    requireNonNull(region, "region");
    nonEmpty("proxyImage", proxyImage, "a container image");
    nonEmpty("initImage", initImage, "a container image");
    nonEmpty("cluster", cluster, "the cluster's name");
    nonEmpty("controllerAddress", controllerAddress, "host:port of the controller");
    nonEmpty("caAddress", caAddress, "host:port of the cluster CA");
    if (proxyUid < 1) {
      throw new IllegalArgumentException(
          "proxyUid: " + proxyUid + " (expected: a non-root user id, >= 1)");
    }
  }

  private static void nonEmpty(String field, String value, String expected) {
    if (value.isBlank()) {
      throw new IllegalArgumentException(field + ": '' (expected: " + expected + ")");
    }
  }
}
