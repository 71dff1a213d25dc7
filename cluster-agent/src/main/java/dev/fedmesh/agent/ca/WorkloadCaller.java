package dev.fedmesh.agent.ca;

import static java.util.Objects.requireNonNull;

/**
 * A workload as the cluster vouches for it: who may receive {@code
 * spiffe://<trust-domain>/ns/<namespace>/sa/<serviceAccount>}.
 *
 * @param namespace the workload's namespace
 * @param serviceAccount the workload's service account
 * @param pod the pod the token was issued for, or empty when the token is not bound to one
 */
public record WorkloadCaller(String namespace, String serviceAccount, String pod) {
  public WorkloadCaller {
    requireNonNull(namespace, "namespace");
    requireNonNull(serviceAccount, "serviceAccount");
    requireNonNull(pod, "pod");
  }
}
