package dev.fedmesh.trust;

import dev.fedmesh.trust.CertificateRequestException.Reason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;

/** Signs workload X.509-SVIDs with a cluster CA's key. Holds no mutable state. */
final class WorkloadCertificateSigner implements SvidIssuer {
  private static final X500Name EMPTY_SUBJECT = new X500Name(new org.bouncycastle.asn1.x500.RDN[0]);
  private static final ExtendedKeyUsage SERVER_AND_CLIENT =
      new ExtendedKeyUsage(
          new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth});

  private final ClusterCa ca;
  private final SvidPolicy policy;
  private final Clock clock;
  private final X500Name issuer;
  private final AuthorityKeyIdentifier authorityKeyId;
  private final List<X509Certificate> chainTail;
  private final Supplier<ContentSigner> signers;

  WorkloadCertificateSigner(ClusterCa ca, SvidPolicy policy, Clock clock) {
    this.ca = ca;
    this.policy = policy;
    this.clock = clock;
    this.issuer = X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
    this.authorityKeyId = CertificateMinter.authorityKeyId(ca.certificate());
    this.chainTail = ca.chain();
    this.signers = Crypto.signers(ca.key());
  }

  @Override
  public X509Svid issue(byte[] csrDer, CallerIdentity caller, Duration ttl) {
    java.util.Objects.requireNonNull(csrDer, "csrDer");
    java.util.Objects.requireNonNull(caller, "caller");
    java.util.Objects.requireNonNull(ttl, "ttl");
    SpiffeId id = caller.spiffeId(ca.trustDomain());
    List<String> ttlProblems = new ArrayList<>();
    Duration lifetime = ttl.isZero() ? policy.defaultTtl() : ttl;
    if (ttl.isNegative()) {
      ttlProblems.add("ttl: " + Durations.format(ttl) + " (expected: > 0, or 0 for the default)");
    } else if (lifetime.compareTo(policy.maxTtl()) > 0) {
      ttlProblems.add(
          "ttl: "
              + Durations.format(ttl)
              + " (expected: <= "
              + Durations.format(policy.maxTtl())
              + ", this CA's maximum)");
    } else if (lifetime.compareTo(Duration.ofSeconds(1)) < 0) {
      ttlProblems.add("ttl: " + Durations.format(lifetime) + " (expected: >= 1s)");
    }
    SubjectPublicKeyInfo publicKey;
    try {
      publicKey = CsrChecks.check(csrDer, id);
    } catch (CertificateRequestException e) {
      if (ttlProblems.isEmpty()) {
        throw e;
      }
      List<String> all = new ArrayList<>(e.problems());
      all.addAll(ttlProblems);
      throw new CertificateRequestException(e.reason(), all);
    }
    if (!ttlProblems.isEmpty()) {
      throw new CertificateRequestException(Reason.INVALID_REQUEST, ttlProblems);
    }

    Instant now = clock.instant();
    Instant caStart = ca.certificate().getNotBefore().toInstant();
    Instant caEnd = ca.certificate().getNotAfter().toInstant();
    if (!now.isBefore(caEnd)) {
      throw new CertificateRequestException(
          Reason.CA_UNAVAILABLE,
          List.of("ca: certificate expired at " + caEnd + " (expected: a CA valid now)"));
    }
    if (now.isBefore(caStart)) {
      throw new CertificateRequestException(
          Reason.CA_UNAVAILABLE,
          List.of("ca: certificate not valid before " + caStart + " (expected: a CA valid now)"));
    }
    Instant notBefore = now.minus(policy.backdate());
    if (notBefore.isBefore(caStart)) {
      notBefore = caStart;
    }
    Instant notAfter = now.plus(lifetime);
    if (notAfter.isAfter(caEnd)) {
      notAfter = caEnd;
    }

    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            issuer,
            CertificateMinter.serial(),
            CertificateMinter.date(notBefore),
            CertificateMinter.date(notAfter),
            EMPTY_SUBJECT,
            publicKey);
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, SERVER_AND_CLIENT);
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          new SubjectKeyIdentifier(CertificateMinter.keyId(publicKey)));
      builder.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId);
      // The subject is empty, so RFC 5280 4.2.1.6 makes the SAN critical.
      builder.addExtension(Extension.subjectAlternativeName, true, CertificateMinter.uriName(id));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    X509Certificate leaf = CertificateMinter.sign(builder, signers.get());
    List<X509Certificate> chain = new ArrayList<>(chainTail.size() + 1);
    chain.add(leaf);
    chain.addAll(chainTail);
    return new X509Svid(id, chain);
  }

  @Override
  public TrustDomain trustDomain() {
    return ca.trustDomain();
  }

  @Override
  public TrustBundle trustBundle() {
    return ca.trustBundle();
  }

  @Override
  public SvidPolicy policy() {
    return policy;
  }
}
