package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Builds the PKCS#10 request a workload sends to its cluster CA, signed by the workload's key. */
public final class WorkloadCsr {
  private WorkloadCsr() {}

  /** A DER request for {@code keys}, naming no identity: the CA decides it. */
  public static byte[] create(KeyPair keys) {
    return create(keys, null);
  }

  /** A DER request for {@code keys} that names {@code id} as its one URI SAN (null: none). */
  public static byte[] create(KeyPair keys, SpiffeId id) {
    requireNonNull(keys, "keys");
    try {
      JcaPKCS10CertificationRequestBuilder builder =
          new JcaPKCS10CertificationRequestBuilder(
              new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), keys.getPublic());
      if (id != null) {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(
            Extension.subjectAlternativeName, true, CertificateMinter.uriName(id));
        builder.addAttribute(
            PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      }
      return builder.build(Crypto.signer(keys.getPrivate())).getEncoded();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
