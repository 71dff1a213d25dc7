/**
 * The seam of the cluster's CA service: how it learns which workload asks for a certificate. The
 * injector mounts each sidecar a service account token for {@link
 * dev.fedmesh.agent.ca.TokenReviewAuthenticator#AUDIENCE}; the CA asks Kubernetes (TokenReview)
 * whose it is before signing anything for it. Certificate issuance itself lives in {@code
 * trust-federation}.
 */
package dev.fedmesh.agent.ca;
