package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.ClusterName;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * Onboarding of a cluster CA in Istio's {@code cacerts} layout, made by fedmesh or by the
 * operator's own PKI ("bring your own root"): every check a CA must pass before it signs workloads,
 * then installation into the cluster's CA directory.
 */
public final class CaOnboarding {
  /** A CA that expires sooner than this is accepted with a warning. */
  static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

  private static final CallerIdentity PROBE =
      CallerIdentity.of("fedmesh-system", "onboarding-probe");

  private CaOnboarding() {}

  /** Validates the {@code cacerts} files in {@code dir}. */
  public static OnboardingReport validate(
      Path dir, Optional<TrustDomain> trustDomain, Clock clock) {
    requireNonNull(dir, "dir");
    OnboardingReport report = validate(CaMaterial.read(dir), trustDomain, clock);
    List<String> warnings = new ArrayList<>(report.warnings());
    CaFiles.permissionWarning(dir.resolve(CaMaterial.CA_KEY)).ifPresent(warnings::add);
    return new OnboardingReport(report.problems(), warnings, report.clusterCa());
  }

  /**
   * Validates a cluster CA: the chain verifies to a root, the key matches the CA certificate, CA
   * flags and pathLen, validity, key and signature strength, and one trust domain throughout.
   * {@code trustDomain} empty means: the one the certificates name, else {@link
   * TrustDomain#DEFAULT}.
   */
  public static OnboardingReport validate(
      CaMaterial material, Optional<TrustDomain> trustDomain, Clock clock) {
    requireNonNull(material, "material");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(clock, "clock");
    return new Validation(material, trustDomain, clock.instant()).run();
  }

  /**
   * Installs a validated CA as {@code <caDir>/<cluster>/} (the key readable by its owner only),
   * replacing the cluster's previous CA in one rename. Returns the cluster's directory.
   */
  public static Path install(ClusterCa ca, ClusterName cluster, Path caDir) {
    requireNonNull(ca, "ca");
    requireNonNull(cluster, "cluster");
    requireNonNull(caDir, "caDir");
    return CaFiles.installClusterCa(ca, caDir.resolve(cluster.value()));
  }

  private static final class Validation {
    private final CaMaterial material;
    private final Optional<TrustDomain> requested;
    private final Instant now;
    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    Validation(CaMaterial material, Optional<TrustDomain> requested, Instant now) {
      this.material = material;
      this.requested = requested;
      this.now = now;
    }

    OnboardingReport run() {
      List<X509Certificate> roots = certificates(material.rootCert(), CaMaterial.ROOT_CERT);
      List<X509Certificate> caCerts = certificates(material.caCert(), CaMaterial.CA_CERT);
      PrivateKey key = privateKey();
      List<X509Certificate> chain = certificates(material.certChain(), CaMaterial.CERT_CHAIN);

      X509Certificate caCert = null;
      if (caCerts != null) {
        if (caCerts.size() != 1) {
          problems.add(
              CaMaterial.CA_CERT
                  + ": "
                  + caCerts.size()
                  + " certificates (expected: exactly one, the cluster's CA)");
        } else {
          caCert = caCerts.get(0);
        }
      }
      if (roots != null) {
        for (int i = 0; i < roots.size(); i++) {
          checkRoot(roots.get(i), label(CaMaterial.ROOT_CERT, i, roots.size()));
        }
      }
      if (caCert != null) {
        checkCa(caCert, CaMaterial.CA_CERT);
        if (caCert.getBasicConstraints() == Integer.MAX_VALUE) {
          warnings.add(
              CaMaterial.CA_CERT
                  + ".basicConstraints: no pathLen (recommended: pathLen 0, so that this"
                  + " cluster's key cannot create further CAs)");
        }
        if (key != null && !KeyChecks.matches(key, caCert.getPublicKey())) {
          problems.add(
              CaMaterial.CA_KEY
                  + ": does not match the public key of "
                  + CaMaterial.CA_CERT
                  + " (expected: the CA certificate's own private key)");
        }
        Instant end = caCert.getNotAfter().toInstant();
        if (now.isBefore(end) && now.plus(EXPIRY_WARNING).isAfter(end)) {
          warnings.add(
              CaMaterial.CA_CERT
                  + ": expires at "
                  + end
                  + ", in less than 30 days (renew it soon)");
        }
      }
      List<X509Certificate> intermediates = List.of();
      if (chain != null && caCert != null) {
        intermediates = checkChain(chain, caCert, roots == null ? List.of() : roots);
      }
      TrustDomain domain = trustDomain(roots, caCert, intermediates);

      if (problems.isEmpty() && roots != null && caCert != null && key != null && chain != null) {
        checkPath(caCert, intermediates, roots, domain);
      }
      if (!problems.isEmpty()) {
        return new OnboardingReport(problems, warnings, Optional.empty());
      }
      ClusterCa ca = new ClusterCa(domain, caCert, key, intermediates, roots);
      trialIssuance(ca);
      if (!problems.isEmpty()) {
        return new OnboardingReport(problems, warnings, Optional.empty());
      }
      return new OnboardingReport(problems, warnings, Optional.of(ca));
    }

    private List<X509Certificate> certificates(Optional<String> pem, String file) {
      if (pem.isEmpty()) {
        problems.add(file + ": missing (expected: a PEM file in the cacerts directory)");
        return null;
      }
      try {
        return Pem.certificates(pem.get(), file);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
        return null;
      }
    }

    private PrivateKey privateKey() {
      if (material.caKey().isEmpty()) {
        problems.add(CaMaterial.CA_KEY + ": missing (expected: the CA's PEM private key)");
        return null;
      }
      try {
        return Pem.privateKey(material.caKey().get(), CaMaterial.CA_KEY);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
        return null;
      }
    }

    private void checkRoot(X509Certificate root, String label) {
      if (!CertificateFacts.selfSigned(root)) {
        problems.add(
            label
                + ": '"
                + CertificateFacts.label(root)
                + "' is not self-signed (expected: root certificates only)");
      }
      problems.addAll(SvidRules.signingCa(root, label));
      problems.addAll(SvidRules.validity(root, label, now));
      checkKey(root, label);
    }

    private void checkCa(X509Certificate ca, String label) {
      problems.addAll(SvidRules.signingCa(ca, label));
      if (CertificateFacts.isCa(ca)
          && !CertificateFacts.isCritical(ca, Extension.basicConstraints.getId())) {
        problems.add(
            label + ".basicConstraints: not critical (expected: critical, as RFC 5280 requires)");
      }
      problems.addAll(SvidRules.validity(ca, label, now));
      checkKey(ca, label);
      checkExtendedKeyUsage(ca, label);
      String weakSignature = KeyChecks.weakSignature(ca.getSigAlgOID());
      if (weakSignature != null) {
        problems.add(
            label
                + ".signatureAlgorithm: "
                + weakSignature
                + " (expected: "
                + KeyChecks.SIGNATURES
                + ")");
      }
    }

    /** Verifiers apply a CA's EKU to the leaves below it; workloads are clients and servers. */
    private void checkExtendedKeyUsage(X509Certificate ca, String label) {
      List<String> usages;
      try {
        usages = ca.getExtendedKeyUsage();
      } catch (java.security.cert.CertificateParsingException e) {
        problems.add(label + ".extendedKeyUsage: unreadable (" + e.getMessage() + ")");
        return;
      }
      if (usages == null || usages.contains(ANY_EXTENDED_KEY_USAGE)) {
        return;
      }
      if (!usages.contains(SERVER_AUTH) || !usages.contains(CLIENT_AUTH)) {
        problems.add(
            label
                + ".extendedKeyUsage: "
                + usages
                + " (expected: none, or both serverAuth "
                + SERVER_AUTH
                + " and clientAuth "
                + CLIENT_AUTH
                + ", since workloads are TLS clients and servers)");
      }
    }

    private void checkKey(X509Certificate certificate, String label) {
      String weakKey =
          KeyChecks.weakKey(
              SubjectPublicKeyInfo.getInstance(certificate.getPublicKey().getEncoded()), true);
      if (weakKey != null) {
        problems.add(label + ".key: " + weakKey + " (expected: " + KeyChecks.CA_KEYS + ")");
      }
    }

    /** Checks cert-chain.pem and returns the intermediates between ca-cert and the roots. */
    private List<X509Certificate> checkChain(
        List<X509Certificate> chain, X509Certificate caCert, List<X509Certificate> roots) {
      if (!chain.get(0).equals(caCert)) {
        problems.add(
            CaMaterial.CERT_CHAIN
                + ": starts with '"
                + CertificateFacts.label(chain.get(0))
                + "' (expected: the certificate of "
                + CaMaterial.CA_CERT
                + " first, then its issuers)");
        return List.of();
      }
      List<X509Certificate> intermediates = new ArrayList<>();
      for (int i = 1; i < chain.size(); i++) {
        X509Certificate certificate = chain.get(i);
        String label = label(CaMaterial.CERT_CHAIN, i, chain.size());
        if (!CertificateFacts.issuedBy(chain.get(i - 1), certificate)) {
          problems.add(
              label(CaMaterial.CERT_CHAIN, i - 1, chain.size())
                  + ": not signed by the next certificate '"
                  + CertificateFacts.label(certificate)
                  + "' (expected: each certificate followed by its issuer)");
        }
        if (roots.contains(certificate)) {
          if (i != chain.size() - 1) {
            problems.add(label + ": a root before the end of the chain (expected: the root last)");
          }
          continue;
        }
        if (CertificateFacts.selfSigned(certificate)) {
          problems.add(
              label
                  + ": the root '"
                  + CertificateFacts.label(certificate)
                  + "' is not in "
                  + CaMaterial.ROOT_CERT
                  + " (expected: the chain to end at a root of "
                  + CaMaterial.ROOT_CERT
                  + ")");
          continue;
        }
        checkCa(certificate, label);
        intermediates.add(certificate);
      }
      return intermediates;
    }

    private void checkPath(
        X509Certificate caCert,
        List<X509Certificate> intermediates,
        List<X509Certificate> roots,
        TrustDomain domain) {
      List<X509Certificate> path = new ArrayList<>();
      path.add(caCert);
      path.addAll(intermediates);
      if (roots.contains(caCert)) {
        warnings.add(
            CaMaterial.CA_CERT
                + ": is the root itself, so this cluster holds the root's key (recommended: an"
                + " intermediate per cluster, with the root key kept offline)");
        return;
      }
      BundleVerifier.pathProblem(path, TrustBundle.of(domain, roots), now)
          .ifPresent(
              problem ->
                  problems.add(
                      CaMaterial.CERT_CHAIN
                          + ": does not verify to "
                          + CaMaterial.ROOT_CERT
                          + problem.substring(problem.indexOf(" ("))));
    }

    private TrustDomain trustDomain(
        List<X509Certificate> roots, X509Certificate caCert, List<X509Certificate> intermediates) {
      Set<TrustDomain> named = new LinkedHashSet<>();
      List<String> where = new ArrayList<>();
      if (caCert != null) {
        collect(caCert, CaMaterial.CA_CERT, named, where);
      }
      for (int i = 0; i < intermediates.size(); i++) {
        collect(intermediates.get(i), CaMaterial.CERT_CHAIN, named, where);
      }
      if (roots != null) {
        for (int i = 0; i < roots.size(); i++) {
          collect(roots.get(i), label(CaMaterial.ROOT_CERT, i, roots.size()), named, where);
        }
      }
      if (requested.isPresent()) {
        for (String entry : where) {
          String[] parts = entry.split(" ", 2);
          if (!parts[1].equals(requested.get().id().uri())) {
            problems.add(
                parts[0]
                    + ".subjectAltName: "
                    + parts[1]
                    + " (expected: the trust domain "
                    + requested.get().id()
                    + ")");
          }
        }
        return requested.get();
      }
      if (named.size() > 1) {
        problems.add(
            "trust domain: the certificates name several "
                + where
                + " (expected: one trust domain)");
        return named.iterator().next();
      }
      if (named.isEmpty()) {
        warnings.add(
            "trust domain: no certificate names one; using "
                + TrustDomain.DEFAULT
                + " (pass the trust domain explicitly to choose another)");
        return TrustDomain.DEFAULT;
      }
      return named.iterator().next();
    }

    private void collect(
        X509Certificate certificate, String label, Set<TrustDomain> named, List<String> where) {
      for (String uri : CertificateFacts.uris(certificate)) {
        if (!uri.startsWith("spiffe:")) {
          continue;
        }
        try {
          SpiffeId id = SpiffeId.parse(uri);
          named.add(id.trustDomain());
          where.add(label + " " + id.trustDomain().id());
        } catch (IllegalArgumentException e) {
          // Reported by the CA rules.
        }
      }
    }

    /** Issues and verifies one throwaway SVID, which catches what static checks cannot. */
    private void trialIssuance(ClusterCa ca) {
      KeyPair keys = KeyAlgorithm.EC_P256.generate();
      try {
        X509Svid svid =
            SvidIssuer.of(ca, SvidPolicy.of(), Clock.fixed(now, java.time.ZoneOffset.UTC))
                .issue(WorkloadCsr.create(keys), PROBE, Duration.ofMinutes(5));
        List<String> rejected =
            SvidVerifier.of(
                    TrustBundleSet.of(ca.trustBundle()), Clock.fixed(now, java.time.ZoneOffset.UTC))
                .problems(svid.chain());
        if (!rejected.isEmpty()) {
          problems.add(
              "trial issuance: a workload certificate signed by this CA is rejected ("
                  + String.join("; ", rejected)
                  + ")");
        }
      } catch (RuntimeException e) {
        problems.add("trial issuance: this CA cannot sign (" + e.getMessage() + ")");
      }
    }

    private static String label(String file, int index, int count) {
      return count == 1 ? file : file + "[" + index + "]";
    }
  }
}
