package dev.fedmesh.controller.xds;

import java.time.Instant;
import java.util.Map;

/**
 * What the controller knows of one connected proxy's xDS stream.
 *
 * @param nodeId the proxy's node id
 * @param group the snapshot group it shares
 * @param connectedAt when its stream opened
 * @param types per type URL: what was sent and what the proxy answered
 */
public record ProxyStatus(
    String nodeId, String group, Instant connectedAt, Map<String, TypeStatus> types) {

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
