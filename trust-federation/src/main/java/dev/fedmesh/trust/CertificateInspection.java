package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code fedmesh ca inspect} reports about a PEM file of certificates: each certificate's
 * role, identity and lifetime, and every problem with the chain as an SVID or CA chain.
 */
public final class CertificateInspection {
  private CertificateInspection() {}

  /** One certificate of the file, as a person reads it. */
  public record Summary(
      int index,
      String role,
      String subject,
      String issuer,
      List<String> uris,
      Instant notBefore,
      Instant notAfter,
      String key,
      String serial) {
    public Summary {
      requireNonNull(role, "role");
      requireNonNull(subject, "subject");
      requireNonNull(issuer, "issuer");
      uris = List.copyOf(requireNonNull(uris, "uris"));
      requireNonNull(notBefore, "notBefore");
      requireNonNull(notAfter, "notAfter");
      requireNonNull(key, "key");
      requireNonNull(serial, "serial");
    }
  }

  /** The report: the certificates in file order, problems, and notes that are not problems. */
  public record Report(List<Summary> certificates, List<String> problems, List<String> notes) {
    public Report {
      certificates = List.copyOf(requireNonNull(certificates, "certificates"));
      problems = List.copyOf(requireNonNull(problems, "problems"));
      notes = List.copyOf(requireNonNull(notes, "notes"));
    }
  }

  /**
   * Inspects the certificates in {@code pem}, the first being the subject (a workload or a CA),
   * each followed by its issuer. The chain is verified against {@code roots} when given, else
   * against its own last certificate when that is a root.
   */
  public static Report inspect(
      String pem, String source, List<X509Certificate> roots, Clock clock) {
    requireNonNull(roots, "roots");
    List<X509Certificate> chain = Pem.certificates(pem, source);
    Instant now = clock.instant();
    List<Summary> summaries = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    List<String> notes = new ArrayList<>();

    for (int i = 0; i < chain.size(); i++) {
      X509Certificate certificate = chain.get(i);
      String label = "certificate[" + i + "]";
      boolean selfSigned = CertificateFacts.selfSigned(certificate);
      boolean ca = CertificateFacts.isCa(certificate);
      String role =
          !ca ? (i == 0 ? "workload (leaf)" : "leaf") : selfSigned ? "root CA" : "intermediate CA";
      summaries.add(
          new Summary(
              i,
              role,
              CertificateFacts.subject(certificate),
              certificate.getIssuerX500Principal().getName(),
              CertificateFacts.uris(certificate),
              certificate.getNotBefore().toInstant(),
              certificate.getNotAfter().toInstant(),
              KeyChecks.describe(certificate.getPublicKey()),
              certificate.getSerialNumber().toString(16)));
      if (i == 0 && !ca) {
        problems.addAll(SvidRules.leaf(certificate, label));
      } else {
        problems.addAll(SvidRules.signingCa(certificate, label));
      }
      problems.addAll(SvidRules.validity(certificate, label, now));
      String weakKey = KeyChecks.weakKey(certificate.getPublicKey(), ca);
      if (weakKey != null) {
        problems.add(
            label
                + ".key: "
                + weakKey
                + " (expected: "
                + (ca ? KeyChecks.CA_KEYS : KeyChecks.WORKLOAD_KEYS)
                + ")");
      }
      if (!selfSigned) {
        String weakSignature = KeyChecks.weakSignature(certificate.getSigAlgOID());
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
      if (i > 0 && !CertificateFacts.issuedBy(chain.get(i - 1), certificate)) {
        problems.add(
            "certificate["
                + (i - 1)
                + "]: not signed by the next certificate (expected: each certificate followed"
                + " by its issuer)");
      }
    }

    X509Certificate last = chain.get(chain.size() - 1);
    List<X509Certificate> anchors = roots;
    if (anchors.isEmpty() && CertificateFacts.selfSigned(last)) {
      anchors = List.of(last);
      notes.add(
          "verified against the file's own root; pass the trusted roots to verify against them");
    }
    if (anchors.isEmpty()) {
      notes.add(
          "the chain ends at '"
              + CertificateFacts.label(last)
              + "', not at a root: pass the trusted roots to verify it");
    } else if (problems.isEmpty()) {
      TrustDomain domain =
          CertificateFacts.spiffeId(chain.get(0))
              .map(SpiffeId::trustDomain)
              .orElse(TrustDomain.DEFAULT);
      try {
        BundleVerifier.pathProblem(chain, TrustBundle.of(domain, anchors), now)
            .ifPresent(problems::add);
      } catch (IllegalArgumentException e) {
        problems.add("roots: " + e.getMessage());
      }
    }
    return new Report(summaries, problems, notes);
  }

  /** The same, for the system clock. */
  public static Report inspect(String pem, String source, List<X509Certificate> roots) {
    return inspect(pem, source, roots, Clock.systemUTC());
  }
}
