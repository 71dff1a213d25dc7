package dev.fedmesh.proxy.tls;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidVerifier;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Who the proxy is on the wire: its current SVID (rotated elsewhere, read at every handshake) and
 * how it checks peers' SVIDs (the trust bundles). A proxy without an identity speaks plaintext only
 * and fails closed when a cluster asks for TLS.
 */
public record ProxyIdentity(Supplier<Optional<SvidCredential>> credential, SvidVerifier verifier) {
  public ProxyIdentity {
    requireNonNull(credential, "credential");
    requireNonNull(verifier, "verifier");
  }
}
