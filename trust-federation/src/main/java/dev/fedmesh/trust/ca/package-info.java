/**
 * The cluster CA as a gRPC service ({@code fedmesh.ca.v1.CertificateService}), its pluggable caller
 * authentication, and the workload-side client.
 */
package dev.fedmesh.trust.ca;
