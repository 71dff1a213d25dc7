package dev.fedmesh.trust;

import dev.fedmesh.trust.CertificateRequestException.Reason;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * The checks every PKCS#10 request passes before the CA signs it. The CA decides the identity: a
 * request may name the caller's own SPIFFE ID or none, never another.
 */
final class CsrChecks {
  private static final String[] SAN_TYPES = {
    "otherName",
    "email",
    "DNS name",
    "x400Address",
    "directory name",
    "ediPartyName",
    "URI",
    "IP address",
    "registeredID"
  };

  private CsrChecks() {}

  /** The request's public key, once every check passed; otherwise a refusal listing them all. */
  static SubjectPublicKeyInfo check(byte[] der, SpiffeId caller) {
    PKCS10CertificationRequest request;
    try {
      request = new PKCS10CertificationRequest(der);
      request.getSubjectPublicKeyInfo().getAlgorithm();
    } catch (Exception e) {
      throw refused(
          Reason.INVALID_REQUEST,
          List.of("csr: not a DER PKCS#10 certificate request (" + e.getMessage() + ")"));
    }
    List<String> problems = new ArrayList<>();
    boolean otherIdentity = false;

    SubjectPublicKeyInfo key = request.getSubjectPublicKeyInfo();
    String weakKey = KeyChecks.weakKey(key, false);
    if (weakKey != null) {
      problems.add("csr.key: " + weakKey + " (expected: " + KeyChecks.WORKLOAD_KEYS + ")");
    }
    String weakSignature = KeyChecks.weakSignature(request.getSignatureAlgorithm());
    if (weakSignature != null) {
      problems.add(
          "csr.signatureAlgorithm: " + weakSignature + " (expected: " + KeyChecks.SIGNATURES + ")");
    }
    if (weakKey == null && weakSignature == null && !signatureVerifies(request, key)) {
      problems.add(
          "csr.signature: does not verify with the request's public key (expected: signed by"
              + " the private key of csr.key)");
    }

    for (Extensions extensions : extensionRequests(request, problems)) {
      BasicConstraints constraints;
      KeyUsage usage;
      GeneralNames names;
      try {
        constraints = BasicConstraints.fromExtensions(extensions);
        usage = KeyUsage.fromExtensions(extensions);
        names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
      } catch (RuntimeException e) {
        problems.add("csr.extensions: unreadable (" + e.getMessage() + ")");
        continue;
      }
      if (constraints != null && constraints.isCA()) {
        problems.add(
            "csr.extensions.basicConstraints: cA=true (expected: no CA request; workload"
                + " certificates are never CAs)");
      }
      if (usage != null
          && (usage.hasUsages(KeyUsage.keyCertSign) || usage.hasUsages(KeyUsage.cRLSign))) {
        problems.add(
            "csr.extensions.keyUsage: keyCertSign/cRLSign (expected: none; workload certificates"
                + " never sign certificates)");
      }
      if (names == null) {
        continue;
      }
      List<String> uris = new ArrayList<>();
      for (GeneralName name : names.getNames()) {
        if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
          uris.add(ASN1IA5String.getInstance(name.getName()).getString());
        } else {
          problems.add(
              "csr.subjectAltName: "
                  + describe(name)
                  + " (expected: only the caller's SPIFFE ID "
                  + caller
                  + " or no SAN; the CA issues SPIFFE IDs only)");
        }
      }
      if (uris.size() > 1) {
        problems.add(
            "csr.subjectAltName: "
                + uris.size()
                + " URIs "
                + uris
                + " (expected: at most one, the caller's SPIFFE ID "
                + caller
                + ")");
      } else if (uris.size() == 1 && !uris.get(0).equals(caller.uri())) {
        otherIdentity = true;
        problems.add(
            "csr.subjectAltName: "
                + uris.get(0)
                + " (expected: the caller's own SPIFFE ID "
                + caller
                + ")");
      }
    }
    if (!problems.isEmpty()) {
      throw refused(otherIdentity ? Reason.IDENTITY_MISMATCH : Reason.INVALID_REQUEST, problems);
    }
    return key;
  }

  private static List<Extensions> extensionRequests(
      PKCS10CertificationRequest request, List<String> problems) {
    List<Extensions> all = new ArrayList<>();
    for (Attribute attribute :
        request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (ASN1Encodable value : attribute.getAttributeValues()) {
        try {
          all.add(Extensions.getInstance(value));
        } catch (RuntimeException e) {
          problems.add("csr.extensions: unreadable (" + e.getMessage() + ")");
        }
      }
    }
    return all;
  }

  private static boolean signatureVerifies(
      PKCS10CertificationRequest request, SubjectPublicKeyInfo key) {
    try {
      return request.isSignatureValid(Crypto.verifier(key));
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      return false;
    }
  }

  private static String describe(GeneralName name) {
    String type = SAN_TYPES[name.getTagNo()];
    if (name.getTagNo() == GeneralName.dNSName || name.getTagNo() == GeneralName.rfc822Name) {
      return type + " '" + ASN1IA5String.getInstance(name.getName()).getString() + "'";
    }
    return type;
  }

  private static CertificateRequestException refused(Reason reason, List<String> problems) {
    return new CertificateRequestException(reason, problems);
  }
}
