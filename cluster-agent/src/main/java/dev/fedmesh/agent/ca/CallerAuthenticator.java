package dev.fedmesh.agent.ca;

/** Tells the cluster CA which workload presented a credential. */
@FunctionalInterface
public interface CallerAuthenticator {
  /**
   * The workload {@code bearerToken} was issued to.
   *
   * @throws CallerRejectedException when the token does not prove a workload of this cluster
   */
  WorkloadCaller authenticate(String bearerToken) throws CallerRejectedException;
}
