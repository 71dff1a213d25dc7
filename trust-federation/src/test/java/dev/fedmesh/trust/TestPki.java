package dev.fedmesh.trust;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.ClusterName;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.svid.x509svid.X509SvidValidator;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;

/** Roots, cluster CAs and workloads for tests, all checked by the SPIFFE project's own library. */
final class TestPki {
  static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");

  /** The real clock: java-spiffe, openssl and JSSE check validity against real time. */
  static final Clock CLOCK = Clock.systemUTC();

  private TestPki() {}

  static RootCa root() {
    return RootCa.generate(RootCaSpec.of(DOMAIN), CLOCK);
  }

  static RootCa root(TrustDomain domain) {
    return RootCa.generate(RootCaSpec.of(domain), CLOCK);
  }

  static ClusterCa cluster(RootCa root, String name) {
    return root.issueIntermediate(IntermediateSpec.of(ClusterName.of(name)), CLOCK);
  }

  static SvidIssuer issuer(ClusterCa ca) {
    return SvidIssuer.of(ca, SvidPolicy.of(), CLOCK);
  }

  /** A workload of {@code ca}, checked by java-spiffe against the CA's own bundle. */
  static SvidCredential workload(ClusterCa ca, String namespace, String serviceAccount) {
    return workload(issuer(ca), ca.trustBundle(), namespace, serviceAccount);
  }

  static SvidCredential workload(
      SvidIssuer issuer, TrustBundle bundle, String namespace, String serviceAccount) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate();
    X509Svid svid =
        issuer.issue(
            WorkloadCsr.create(keys), CallerIdentity.of(namespace, serviceAccount), Duration.ZERO);
    SvidCredential credential = SvidCredential.of(svid, keys.getPrivate());
    assertAcceptedBySpiffeLibrary(credential, bundle);
    return credential;
  }

  /**
   * java-spiffe-core parses the SVID with its key (leaf rules, key match) and verifies its chain
   * against the bundle.
   */
  static void assertAcceptedBySpiffeLibrary(SvidCredential credential, TrustBundle bundle) {
    try {
      io.spiffe.svid.x509svid.X509Svid parsed =
          io.spiffe.svid.x509svid.X509Svid.parse(
              credential.svid().pem().getBytes(StandardCharsets.US_ASCII),
              Pem.encode(credential.privateKey()).getBytes(StandardCharsets.US_ASCII));
      assertThat(parsed.getSpiffeId().toString()).isEqualTo(credential.svid().id().uri());
      X509Bundle spiffeBundle =
          new X509Bundle(
              io.spiffe.spiffeid.TrustDomain.parse(bundle.trustDomain().name()),
              new HashSet<>(bundle.roots()));
      X509SvidValidator.verifyChain(parsed.getChain(), spiffeBundle);
    } catch (Exception e) {
      throw new AssertionError("java-spiffe-core rejects " + credential.svid().id() + ": " + e, e);
    }
  }

  /**
   * java-spiffe-core parses the SVID with its key (leaf rules, exactly one SPIFFE ID, key match).
   * For certificates issued on a fake clock, whose validity is not real time, which chain
   * verification would judge.
   */
  static void assertParsedBySpiffeLibrary(SvidCredential credential) {
    try {
      io.spiffe.svid.x509svid.X509Svid.parse(
          credential.svid().pem().getBytes(StandardCharsets.US_ASCII),
          Pem.encode(credential.privateKey()).getBytes(StandardCharsets.US_ASCII));
    } catch (Exception e) {
      throw new AssertionError("java-spiffe-core rejects " + credential.svid().id() + ": " + e, e);
    }
  }

  static List<java.security.cert.X509Certificate> chainWithRoot(
      SvidCredential credential, RootCa root) {
    List<java.security.cert.X509Certificate> chain =
        new java.util.ArrayList<>(credential.svid().chain());
    chain.add(root.certificate());
    return chain;
  }
}
