package dev.fedmesh.benchmarks.load;

import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidVerifier;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSL;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Mutual TLS between two workloads on BoringSSL, as sidecars speak it: SVIDs on both sides, each
 * checked against the mesh's root. The client sends Istio's SNI, which only BoringSSL lets us send
 * (the JDK refuses names that are not DNS host names).
 */
final class MeshTls {
  private MeshTls() {}

  static SslContext server(SvidCredential credential, SvidVerifier verifier) throws SSLException {
    return SslContextBuilder.forServer(SpiffeTls.keyManager(() -> Optional.of(credential)))
        .sslProvider(SslProvider.OPENSSL)
        .trustManager(SpiffeTls.trustManager(verifier, id -> true))
        .clientAuth(ClientAuth.REQUIRE)
        .protocols("TLSv1.3")
        .build();
  }

  static SslContext client(SvidCredential credential, SvidVerifier verifier) throws SSLException {
    return SslContextBuilder.forClient()
        .sslProvider(SslProvider.OPENSSL)
        .keyManager(SpiffeTls.keyManager(() -> Optional.of(credential)))
        .trustManager(SpiffeTls.trustManager(verifier, id -> true))
        .protocols("TLSv1.3")
        .endpointIdentificationAlgorithm(null) // SVIDs name a SPIFFE ID, not a host
        .build();
  }

  /** A client handler that sends {@code sni} as the TLS server name, whatever its syntax. */
  static SslHandler clientHandler(SslContext context, ByteBufAllocator alloc, String sni) {
    SslHandler handler = context.newHandler(alloc);
    ReferenceCountedOpenSslEngine engine = (ReferenceCountedOpenSslEngine) handler.engine();
    synchronized (engine) {
      SSL.setTlsExtHostName(engine.sslPointer(), sni);
    }
    return handler;
  }
}
