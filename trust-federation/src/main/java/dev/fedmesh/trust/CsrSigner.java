package dev.fedmesh.trust;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The workload's way to its cluster CA: sends a DER PKCS#10 request and completes with the issued
 * SVID, or exceptionally when the CA refuses or cannot be reached.
 */
@FunctionalInterface
public interface CsrSigner {
  /** Asks for a certificate living {@code ttl} ({@link Duration#ZERO}: the CA's default). */
  CompletableFuture<X509Svid> sign(byte[] csrDer, Duration ttl);
}
