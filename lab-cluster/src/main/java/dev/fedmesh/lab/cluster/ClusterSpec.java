package dev.fedmesh.lab.cluster;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One lab cluster, as the lab writes it for its host process (JSON).
 *
 * @param name the member cluster's name (also its network: every lab cluster is a network)
 * @param region its region
 * @param prefix its loopback range, two octets ({@code 127.1}): infrastructure on {@code
 *     <prefix>.0.1}, pods on {@code <prefix>.1.<n>}
 * @param trustDomain the mesh's trust domain
 * @param controllers the controller replicas, host:port
 * @param rootDir the shared root CA's directory (cert and key), from which this cluster takes its
 *     intermediate
 * @param stateDir where the host writes its status
 * @param certificateTtlSeconds workload certificate lifetime (rotated at half)
 * @param workloads the demo pods
 * @param agentToken the token the cluster's agent presents to the controllers
 * @param controlToken the token the lab's fault-injection endpoint requires
 */
public record ClusterSpec(
    String name,
    String region,
    String prefix,
    String trustDomain,
    List<String> controllers,
    String rootDir,
    String stateDir,
    long certificateTtlSeconds,
    List<Workload> workloads,
    String agentToken,
    String controlToken) {

  /**
   * A demo pod.
   *
   * @param service the service it serves (also its app label and service account); {@code loadgen}
   *     pods serve nothing and exist to send traffic from
   * @param version its version label (v1, v2), the subset it belongs to
   * @param zone the zone of its node
   * @param calls the service it calls on every request, or empty
   */
  public record Workload(String service, String version, String zone, String calls) {
    public Workload {
      requireNonNull(service, "service");
      requireNonNull(version, "version");
      requireNonNull(zone, "zone");
      calls = calls == null ? "" : calls;
    }

    public boolean serves() {
      return !service.equals(LOADGEN);
    }
  }

  /** The service name of load-generator pods. */
  public static final String LOADGEN = "loadgen";

  /** The namespace of the demo app. */
  public static final String NAMESPACE = "shop";

  /** The port every demo service listens on. */
  public static final int SERVICE_PORT = 8080;

  /** Where the app listens beside its sidecar, on the pod's address: the pod's "localhost". */
  public static final int APP_PORT = 18080;

  public static final int OUTBOUND_PORT = 15001;
  public static final int ADMIN_PORT = 15000;

  /** Istio's stats port: each sidecar's metrics alone, on the pod's address. */
  public static final int STATS_PORT = 15090;

  public static final int GATEWAY_PORT = 15443;
  public static final int GATEWAY_ADMIN_PORT = 15021;
  public static final int CA_PORT = 15012;

  public ClusterSpec {
    requireNonNull(name, "name");
    requireNonNull(region, "region");
    requireNonNull(prefix, "prefix");
    requireNonNull(trustDomain, "trustDomain");
    controllers = List.copyOf(controllers);
    requireNonNull(rootDir, "rootDir");
    requireNonNull(stateDir, "stateDir");
    workloads = List.copyOf(workloads);
  }

  /** The cluster's infrastructure address: Kubernetes API, CA, gateway. */
  public String infraAddress() {
    return prefix + ".0.1";
  }

  /** The address of the {@code index}-th pod (0-based). */
  public String podAddress(int index) {
    return prefix + ".1." + (10 + index);
  }

  /** The pod name of the {@code index}-th workload. */
  public String podName(int index) {
    Workload workload = workloads.get(index);
    return workload.service() + "-" + workload.version() + "-" + name + "-" + index;
  }

  /** The sidecar outbound address of this cluster's first load generator, if it has one. */
  public String loadgenOutbound() {
    for (int i = 0; i < workloads.size(); i++) {
      if (!workloads.get(i).serves()) {
        return podAddress(i) + ":" + OUTBOUND_PORT;
      }
    }
    throw new IllegalStateException("cluster " + name + " has no load generator");
  }
}
