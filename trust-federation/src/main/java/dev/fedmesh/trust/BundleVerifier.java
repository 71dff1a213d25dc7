package dev.fedmesh.trust;

import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Verifies SVID chains against the bundles of their trust domains with the JDK's PKIX validator.
 */
final class BundleVerifier implements SvidVerifier {
  private final Supplier<TrustBundleSet> bundles;
  private final Clock clock;

  BundleVerifier(Supplier<TrustBundleSet> bundles, Clock clock) {
    this.bundles = bundles;
    this.clock = clock;
  }

  @Override
  public SpiffeId verify(List<X509Certificate> chain) {
    List<String> problems = problems(chain);
    if (!problems.isEmpty()) {
      throw new SvidRejectedException(problems);
    }
    return CertificateFacts.spiffeId(chain.get(0)).orElseThrow();
  }

  @Override
  public List<String> problems(List<X509Certificate> chain) {
    java.util.Objects.requireNonNull(chain, "chain");
    if (chain.isEmpty()) {
      return List.of("chain: empty (expected: the peer's certificate first)");
    }
    Instant now = clock.instant();
    List<String> problems = new ArrayList<>(SvidRules.leaf(chain.get(0), "chain[0]"));
    for (int i = 1; i < chain.size(); i++) {
      problems.addAll(SvidRules.signingCa(chain.get(i), "chain[" + i + "]"));
    }
    for (int i = 0; i < chain.size(); i++) {
      problems.addAll(SvidRules.validity(chain.get(i), "chain[" + i + "]", now));
    }
    Optional<SpiffeId> id = CertificateFacts.spiffeId(chain.get(0));
    if (id.isEmpty()) {
      return problems;
    }
    TrustDomain domain = id.get().trustDomain();
    TrustBundleSet set = bundles.get();
    Optional<TrustBundle> bundle = set.bundle(domain);
    if (bundle.isEmpty()) {
      problems.add(
          "chain[0]: trust domain "
              + domain
              + " is not trusted (expected: one of "
              + set.trustDomains()
              + ")");
      return problems;
    }
    for (int i = 1; i < chain.size(); i++) {
      Optional<SpiffeId> caId = CertificateFacts.spiffeId(chain.get(i));
      if (caId.isPresent() && !caId.get().trustDomain().equals(domain)) {
        problems.add(
            "chain["
                + i
                + "].subjectAltName: "
                + caId.get()
                + " (expected: the leaf's trust domain "
                + domain
                + ")");
      }
    }
    if (problems.isEmpty()) {
      pathProblem(chain, bundle.get(), now).ifPresent(problems::add);
    }
    return problems;
  }

  /** The PKIX verdict: signatures, names, pathLen, name constraints, down from a bundle root. */
  static Optional<String> pathProblem(
      List<X509Certificate> chain, TrustBundle bundle, Instant now) {
    List<X509Certificate> path = new ArrayList<>(chain);
    while (path.size() > 1 && bundle.contains(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate root : bundle.roots()) {
      anchors.add(new TrustAnchor(root, null));
    }
    try {
      CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
      PKIXParameters parameters = new PKIXParameters(anchors);
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(now));
      PKIXCertPathValidatorResult result =
          (PKIXCertPathValidatorResult)
              CertPathValidator.getInstance("PKIX").validate(certPath, parameters);
      X509Certificate root = result.getTrustAnchor().getTrustedCert();
      if (now.isAfter(root.getNotAfter().toInstant())
          || now.isBefore(root.getNotBefore().toInstant())) {
        return Optional.of(
            "chain: its root '"
                + CertificateFacts.label(root)
                + "' is valid only from "
                + root.getNotBefore().toInstant()
                + " to "
                + root.getNotAfter().toInstant()
                + " (expected: valid now)");
      }
      return Optional.empty();
    } catch (CertPathValidatorException e) {
      String where = e.getIndex() >= 0 ? " at chain[" + e.getIndex() + "]" : "";
      return Optional.of(
          "chain: does not verify to a root of the "
              + bundle.trustDomain()
              + " trust bundle ("
              + e.getMessage()
              + where
              + ")");
    } catch (GeneralSecurityException e) {
      return Optional.of("chain: cannot be verified (" + e.getMessage() + ")");
    }
  }
}
