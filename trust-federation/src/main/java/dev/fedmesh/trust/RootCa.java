package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A root CA fedmesh generated: its self-signed certificate and key. Operators who bring their own
 * root never give fedmesh this key; they onboard a cluster CA instead (see {@link CaOnboarding}).
 */
public record RootCa(TrustDomain trustDomain, X509Certificate certificate, PrivateKey key) {
  public RootCa {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(certificate, "certificate");
    requireNonNull(key, "key");
    if (!KeyChecks.matches(key, certificate.getPublicKey())) {
      throw new IllegalArgumentException(
          "key: does not match the root certificate's public key (expected: the root's own key)");
    }
  }

  /** Generates a new key and a self-signed root certificate valid from now. */
  public static RootCa generate(RootCaSpec spec, Clock clock) {
    requireNonNull(spec, "spec");
    requireNonNull(clock, "clock");
    KeyPair keys = spec.keyAlgorithm().generate();
    Instant now = clock.instant();
    X509Certificate certificate =
        CertificateMinter.root(
            keys.getPublic(),
            keys.getPrivate(),
            CertificateMinter.name(
                spec.trustDomain().name(), "fedmesh root CA " + CertificateMinter.generationTag()),
            now.minus(CertificateMinter.CA_BACKDATE),
            now.plus(spec.validity()),
            spec.spiffeId() ? spec.trustDomain().id() : null);
    return new RootCa(spec.trustDomain(), certificate, keys.getPrivate());
  }

  /**
   * Issues a cluster's intermediate CA (pathLen 0) with a fresh key. Its lifetime ends no later
   * than the root's.
   */
  public ClusterCa issueIntermediate(IntermediateSpec spec, Clock clock) {
    requireNonNull(spec, "spec");
    requireNonNull(clock, "clock");
    Instant now = clock.instant();
    Instant rootEnd = certificate.getNotAfter().toInstant();
    if (!now.isBefore(rootEnd)) {
      throw new IllegalStateException(
          "root: expired at " + rootEnd + " (expected: a root valid now to sign with)");
    }
    Instant notAfter = now.plus(spec.validity());
    if (notAfter.isAfter(rootEnd)) {
      notAfter = rootEnd;
    }
    Instant notBefore = now.minus(CertificateMinter.CA_BACKDATE);
    Instant rootStart = certificate.getNotBefore().toInstant();
    if (notBefore.isBefore(rootStart)) {
      notBefore = rootStart;
    }
    KeyPair keys = spec.keyAlgorithm().generate();
    X509Certificate intermediate =
        CertificateMinter.intermediate(
            certificate,
            key,
            keys.getPublic(),
            CertificateMinter.name(
                trustDomain.name(),
                "fedmesh " + spec.cluster() + " CA " + CertificateMinter.generationTag()),
            notBefore,
            notAfter,
            trustDomain.id(),
            spec.nameConstrained());
    return new ClusterCa(
        trustDomain, intermediate, keys.getPrivate(), List.of(), List.of(certificate));
  }

  /** The trust domain named by the certificate's URI SAN, if it has one. */
  public static Optional<TrustDomain> trustDomainOf(X509Certificate certificate) {
    return CertificateFacts.spiffeId(requireNonNull(certificate, "certificate"))
        .map(SpiffeId::trustDomain);
  }

  /** Names the root, never its key. */
  @Override
  public String toString() {
    return "RootCa[" + trustDomain + ", " + certificate.getSubjectX500Principal().getName() + "]";
  }
}
