package dev.fedmesh.trust.ca;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What a caller presented with its request: a bearer token from the {@code authorization} header (a
 * lab workload token, or a Kubernetes service-account token for TokenReview), and the client
 * certificates of its TLS connection, if any.
 */
public record CallerCredentials(
    Optional<String> bearerToken, List<X509Certificate> peerCertificates) {
  public CallerCredentials {
    requireNonNull(bearerToken, "bearerToken");
    peerCertificates = List.copyOf(requireNonNull(peerCertificates, "peerCertificates"));
  }

  public static CallerCredentials ofToken(String bearerToken) {
    return new CallerCredentials(
        Optional.of(requireNonNull(bearerToken, "bearerToken")), List.of());
  }
}
