package dev.fedmesh.agent.status;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.agent.source.Finding;
import java.util.List;

/**
 * What an agent reports about itself at {@code /status}.
 *
 * @param cluster the cluster the agent speaks for
 * @param connected whether a controller replica welcomed the agent's stream
 * @param inSync whether the controller has stored everything the agent sent
 * @param controllerReplica the replica the agent is connected to, or empty
 * @param services how many services the agent announces
 * @param endpoints how many endpoints those services have
 * @param findings what the agent found wrong in the cluster's configuration
 */
public record AgentStatus(
    String cluster,
    boolean connected,
    boolean inSync,
    String controllerReplica,
    int services,
    int endpoints,
    List<Finding> findings) {

  public AgentStatus {
    requireNonNull(cluster, "cluster");
    requireNonNull(controllerReplica, "controllerReplica");
    findings = List.copyOf(findings);
  }

  /** Ready to be relied on: connected, and the controller holds the agent's current state. */
  public boolean ready() {
    return connected && inSync;
  }
}
