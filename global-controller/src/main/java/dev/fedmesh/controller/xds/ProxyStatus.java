package dev.fedmesh.controller.xds;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the controller knows of one connected proxy's xDS stream.
 *
 * @param nodeId the proxy's node id
 * @param group the snapshot group it shares
 * @param role {@code sidecar}, {@code gateway} or {@code grpc}, from its node metadata
 * @param cluster the member cluster it runs in
 * @param locality its region/zone/sub-zone
 * @param namespace its workload's namespace (sidecars), or empty
 * @param labels its workload's labels (sidecars), or empty
 * @param addresses the pod addresses it announced ({@code INSTANCE_IPS}), or empty
 * @param connectedAt when its stream opened
 * @param types per type URL: what was sent and what the proxy answered
 */
public record ProxyStatus(
    String nodeId,
    String group,
    String role,
    String cluster,
    String locality,
    String namespace,
    Map<String, String> labels,
    List<String> addresses,
    Instant connectedAt,
    Map<String, TypeStatus> types) {

  public ProxyStatus {
    labels = Map.copyOf(labels);
    addresses = List.copyOf(addresses);
    types = Map.copyOf(types);
  }

  /** The workload's name as Istio's telemetry spells it: {@code app-version}, or the node id. */
  public String workload() {
    String app = labels.get("app");
    if (app == null) {
      return nodeId;
    }
    String version = labels.get("version");
    return version == null ? app : app + "-" + version;
  }

  /**
   * One resource type on one stream.
   *
   * @param sentVersion the version last sent
   * @param sentNonce the nonce of that response
   * @param ackedVersion the version the proxy last accepted
   * @param nackedVersion the version the proxy last rejected, or empty
   * @param nackError the proxy's reason for that rejection, or empty
   */
  public record TypeStatus(
      String sentVersion,
      String sentNonce,
      String ackedVersion,
      String nackedVersion,
      String nackError) {

    /** Istio's words: SYNCED, NOT SENT, STALE (sent, not yet answered) or NACKED. */
    public String state() {
      if (sentVersion.isEmpty()) {
        return "NOT SENT";
      }
      if (!nackedVersion.isEmpty() && nackedVersion.equals(sentVersion)) {
        return "NACKED";
      }
      return sentVersion.equals(ackedVersion) ? "SYNCED" : "STALE";
    }
  }
}
