package dev.fedmesh.trust;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The SPIFFE X.509-SVID rules for leaf and signing certificates, as lists of problems that name the
 * certificate and field. Shared by verification, onboarding and inspection.
 */
final class SvidRules {
  private SvidRules() {}

  static List<String> leaf(X509Certificate leaf, String label) {
    List<String> problems = new ArrayList<>();
    if (CertificateFacts.isCa(leaf)) {
      problems.add(
          label + ".basicConstraints: cA=true (expected: cA=false on a workload certificate)");
    }
    if (!CertificateFacts.hasKeyUsage(leaf)) {
      problems.add(label + ".keyUsage: absent (expected: digitalSignature)");
    } else {
      if (!CertificateFacts.digitalSignature(leaf)) {
        problems.add(label + ".keyUsage: no digitalSignature (expected: digitalSignature)");
      }
      if (CertificateFacts.keyCertSign(leaf) || CertificateFacts.crlSign(leaf)) {
        problems.add(
            label + ".keyUsage: keyCertSign/cRLSign (expected: neither on a workload certificate)");
      }
    }
    List<String> uris = CertificateFacts.uris(leaf);
    if (uris.size() != 1) {
      problems.add(
          label
              + ".subjectAltName: "
              + uris.size()
              + " URIs"
              + (uris.isEmpty() ? "" : " " + uris)
              + " (expected: exactly one SPIFFE ID)");
    } else {
      try {
        SpiffeId id = SpiffeId.parse(uris.get(0));
        if (!id.hasPath()) {
          problems.add(
              label
                  + ".subjectAltName: "
                  + id
                  + " (expected: a workload SPIFFE ID with a path; "
                  + id
                  + " names the trust domain itself)");
        }
      } catch (IllegalArgumentException e) {
        problems.add(label + ".subjectAltName: " + e.getMessage());
      }
    }
    return problems;
  }

  static List<String> signingCa(X509Certificate ca, String label) {
    List<String> problems = new ArrayList<>();
    if (!CertificateFacts.isCa(ca)) {
      problems.add(
          label
              + ".basicConstraints: "
              + (CertificateFacts.hasBasicConstraints(ca) ? "cA=false" : "absent")
              + " (expected: cA=true on a signing certificate)");
    }
    if (!CertificateFacts.keyCertSign(ca)) {
      problems.add(
          label
              + ".keyUsage: "
              + (CertificateFacts.hasKeyUsage(ca) ? "no keyCertSign" : "absent")
              + " (expected: keyCertSign on a signing certificate)");
    }
    List<String> uris = CertificateFacts.uris(ca);
    List<String> spiffe = uris.stream().filter(uri -> uri.startsWith("spiffe:")).toList();
    if (spiffe.size() > 1) {
      problems.add(
          label + ".subjectAltName: " + spiffe.size() + " SPIFFE IDs (expected: at most one)");
    }
    for (String uri : spiffe) {
      try {
        SpiffeId id = SpiffeId.parse(uri);
        if (id.hasPath()) {
          problems.add(
              label
                  + ".subjectAltName: "
                  + id
                  + " (expected: a SPIFFE ID with no path on a CA certificate, "
                  + id.trustDomain().id()
                  + ")");
        }
      } catch (IllegalArgumentException e) {
        problems.add(label + ".subjectAltName: " + e.getMessage());
      }
    }
    return problems;
  }

  static List<String> validity(X509Certificate certificate, String label, Instant now) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant notAfter = certificate.getNotAfter().toInstant();
    if (now.isBefore(notBefore)) {
      return List.of(
          label + ": not valid before " + notBefore + " (expected: valid now, " + now + ")");
    }
    if (now.isAfter(notAfter)) {
      return List.of(label + ": expired at " + notAfter + " (expected: valid now, " + now + ")");
    }
    return List.of();
  }
}
