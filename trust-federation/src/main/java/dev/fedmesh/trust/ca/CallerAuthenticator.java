package dev.fedmesh.trust.ca;

import dev.fedmesh.trust.CallerIdentity;

/**
 * Establishes who is calling the CA. Implementations: {@link WorkloadTokens} for the local lab;
 * Kubernetes TokenReview in the cluster agent. May block (e.g. on a TokenReview call); it runs on
 * the gRPC server's executor.
 */
@FunctionalInterface
public interface CallerAuthenticator {
  /**
   * The caller's namespace and service account.
   *
   * @throws AuthenticationException when the credentials are missing, invalid or expired
   */
  CallerIdentity authenticate(CallerCredentials credentials) throws AuthenticationException;
}
