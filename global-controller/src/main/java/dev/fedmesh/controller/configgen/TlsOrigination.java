package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;

/**
 * TLS a sidecar originates to a server outside the mesh (DestinationRule {@code tls.mode: SIMPLE}):
 * the application speaks plain HTTP or TCP, the sidecar speaks TLS. No client certificate is sent.
 * The server's certificate must chain to the system's roots ({@code system_root_certs}), or to the
 * PEM file {@code caCertificates} names on the proxy's host ({@code trusted_ca}), and must carry
 * one of the expected DNS names: Envoy checks no name unless told, so the names are always given.
 */
final class TlsOrigination {
  private TlsOrigination() {}

  /**
   * @param sni the server name to send; empty for none
   * @param names DNS names, one of which the certificate must carry (a certificate's {@code
   *     *.example.com} covers {@code api.example.com})
   * @param suffix when not empty, any DNS name ending with it is accepted too (a wildcard host's)
   * @param caCertificates a PEM file of roots on the proxy's host; empty for the system's
   * @param alpn the protocols to offer, or none
   */
  static TransportSocket upstream(
      String sni, List<String> names, String suffix, String caCertificates, List<String> alpn) {
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
    if (caCertificates.isEmpty()) {
      validation.setSystemRootCerts(
          CertificateValidationContext.SystemRootCerts.getDefaultInstance());
    } else {
      validation.setTrustedCa(DataSource.newBuilder().setFilename(caCertificates));
    }
    for (String name : names) {
      validation.addMatchTypedSubjectAltNames(
          SubjectAltNameMatcher.newBuilder()
              .setSanType(SubjectAltNameMatcher.SanType.DNS)
              .setMatcher(StringMatcher.newBuilder().setExact(name)));
    }
    if (!suffix.isEmpty()) {
      validation.addMatchTypedSubjectAltNames(
          SubjectAltNameMatcher.newBuilder()
              .setSanType(SubjectAltNameMatcher.SanType.DNS)
              .setMatcher(StringMatcher.newBuilder().setSuffix(suffix)));
    }
    CommonTlsContext common =
        CommonTlsContext.newBuilder()
            .setValidationContext(validation)
            .addAllAlpnProtocols(alpn)
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(
            Any.pack(
                UpstreamTlsContext.newBuilder().setSni(sni).setCommonTlsContext(common).build()))
        .build();
  }
}
