package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * Who asks the CA for a certificate, as established by an authenticator: a Kubernetes namespace and
 * service account. The CA derives the certificate's SPIFFE ID from this, never from the CSR.
 */
public record CallerIdentity(String namespace, String serviceAccount) {
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  public CallerIdentity {
    requireNonNull(namespace, "namespace");
    requireNonNull(serviceAccount, "serviceAccount");
    if (namespace.length() > 63 || !namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
      throw new IllegalArgumentException(
          "namespace: '" + namespace + "' (expected: a DNS label of at most 63 characters)");
    }
    if (serviceAccount.length() > 253 || !DNS_SUBDOMAIN.matcher(serviceAccount).matches()) {
      throw new IllegalArgumentException(
          "serviceAccount: '"
              + serviceAccount
              + "' (expected: a DNS subdomain of at most 253 characters)");
    }
  }

  public static CallerIdentity of(String namespace, String serviceAccount) {
    return new CallerIdentity(namespace, serviceAccount);
  }

  /** {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>}. */
  public SpiffeId spiffeId(TrustDomain trustDomain) {
    return SpiffeId.of(trustDomain, this);
  }

  @Override
  public String toString() {
    return namespace + "/" + serviceAccount;
  }
}
