package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;

/**
 * Mutual TLS between sidecars. Certificates are named, not sent: as in Istio, the workload's own
 * certificate is the SDS secret {@value #WORKLOAD_SECRET} and the trust bundle {@value
 * #ROOT_SECRET}, both served by the proxy's local agent over the bootstrap cluster {@value
 * #SDS_CLUSTER}. Keys never leave the pod and the controller never sees them.
 */
final class MeshTls {
  static final String WORKLOAD_SECRET = "default";
  static final String ROOT_SECRET = "ROOTCA";
  static final String SDS_CLUSTER = "sds-grpc";

  private MeshTls() {}

  /**
   * TLS to a mesh workload (or through a gateway to one) with the SNI that names the service. The
   * peer must present one of {@code identities}, the SPIFFE IDs of the service's own endpoints (as
   * Istio checks a service's accounts), so a certificate of another workload of the mesh is
   * refused. With no identity known (endpoints that name no service account), any identity of
   * {@code trustDomain} is accepted.
   */
  static TransportSocket upstream(
      String sni, java.util.Collection<String> identities, String trustDomain) {
    CertificateValidationContext.Builder peer = CertificateValidationContext.newBuilder();
    if (!identities.isEmpty()) {
      for (String identity : identities) {
        peer.addMatchTypedSubjectAltNames(
            SubjectAltNameMatcher.newBuilder()
                .setSanType(SubjectAltNameMatcher.SanType.URI)
                .setMatcher(StringMatcher.newBuilder().setExact(identity)));
      }
    } else if (!trustDomain.isEmpty()) {
      peer.addMatchTypedSubjectAltNames(
          SubjectAltNameMatcher.newBuilder()
              .setSanType(SubjectAltNameMatcher.SanType.URI)
              .setMatcher(StringMatcher.newBuilder().setPrefix("spiffe://" + trustDomain + "/")));
    }
    CommonTlsContext common =
        CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(secret(WORKLOAD_SECRET))
            .setCombinedValidationContext(
                CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(peer)
                    .setValidationContextSdsSecretConfig(secret(ROOT_SECRET)))
            .addAlpnProtocols("h2")
            .addAlpnProtocols("http/1.1")
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(
            Any.pack(
                UpstreamTlsContext.newBuilder().setSni(sni).setCommonTlsContext(common).build()))
        .build();
  }

  /**
   * The TLS a sidecar's inbound chains terminate: its own workload certificate, and a client
   * certificate required of every caller, checked against the mesh's roots.
   */
  static TransportSocket downstream() {
    CommonTlsContext common =
        CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(secret(WORKLOAD_SECRET))
            .setValidationContextSdsSecretConfig(secret(ROOT_SECRET))
            .addAlpnProtocols("h2")
            .addAlpnProtocols("http/1.1")
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(
            Any.pack(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                    .newBuilder()
                    .setCommonTlsContext(common)
                    .setRequireClientCertificate(com.google.protobuf.BoolValue.of(true))
                    .build()))
        .build();
  }

  private static SdsSecretConfig secret(String name) {
    return SdsSecretConfig.newBuilder()
        .setName(name)
        .setSdsConfig(
            ConfigSource.newBuilder()
                .setResourceApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
                .setApiConfigSource(
                    ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.GRPC)
                        .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
                        .addGrpcServices(
                            GrpcService.newBuilder()
                                .setEnvoyGrpc(
                                    GrpcService.EnvoyGrpc.newBuilder()
                                        .setClusterName(SDS_CLUSTER)))))
        .build();
  }
}
