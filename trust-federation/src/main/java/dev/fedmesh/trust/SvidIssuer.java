package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;

/**
 * A cluster CA's workload-certificate issuer: turns a PKCS#10 request and an authenticated caller
 * into an X.509-SVID for {@code spiffe://<td>/ns/<ns>/sa/<sa>}. Safe for concurrent use.
 */
public interface SvidIssuer {
  /** An issuer that signs with {@code ca} under {@code policy}, reading time from {@code clock}. */
  static SvidIssuer of(ClusterCa ca, SvidPolicy policy, Clock clock) {
    return new WorkloadCertificateSigner(
        requireNonNull(ca, "ca"), requireNonNull(policy, "policy"), requireNonNull(clock, "clock"));
  }

  /**
   * Checks the request and issues the caller's SVID, living {@code ttl} ({@link Duration#ZERO} for
   * the policy's default) but never past the CA's own expiry.
   *
   * @throws CertificateRequestException listing every problem when the request is refused
   */
  X509Svid issue(byte[] csrDer, CallerIdentity caller, Duration ttl);

  /** {@link #issue(byte[], CallerIdentity, Duration)} with the policy's default lifetime. */
  default X509Svid issue(byte[] csrDer, CallerIdentity caller) {
    return issue(csrDer, caller, Duration.ZERO);
  }

  TrustDomain trustDomain();

  /** The roots workloads of this CA should trust. */
  TrustBundle trustBundle();

  SvidPolicy policy();
}
