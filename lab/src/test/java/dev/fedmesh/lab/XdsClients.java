package dev.fedmesh.lab;

import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.proxyless.MeshXdsCredentialsProvider;
import dev.fedmesh.trust.SvidFiles;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.xds.XdsNameResolverProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** grpc-java's own xDS client, bootstrapped at a controller, for end-to-end checks. */
final class XdsClients {
  private XdsClients() {}

  /**
   * A channel to {@code target} ({@code xds:///...}), plaintext xDS, for a client at region/zone.
   */
  static ManagedChannel channel(
      String target, int controllerPort, String nodeId, String region, String zone) {
    return channel(
        target,
        Map.of("type", "insecure"),
        controllerPort,
        nodeId,
        region,
        zone,
        Map.of(NodeMetadata.ROLE, NodeMetadata.ROLE_GRPC));
  }

  /**
   * A channel whose xDS client reaches the controller over mutual TLS with the SVID in {@code
   * credentials} (cert-chain.pem, key.pem, root-cert.pem), through fedmesh's {@code fedmesh_mtls}
   * channel credentials, as the README shows proxyless applications.
   */
  static ManagedChannel channel(
      String target,
      int controllerPort,
      String nodeId,
      String region,
      String zone,
      Path credentials,
      String namespace,
      String serviceAccount) {
    return channel(
        target,
        Map.of(
            "type",
            MeshXdsCredentialsProvider.NAME,
            "config",
            Map.of(
                "certificate_file", credentials.resolve(SvidFiles.CERT_CHAIN).toString(),
                "private_key_file", credentials.resolve(SvidFiles.KEY).toString(),
                "ca_certificate_file", credentials.resolve(SvidFiles.ROOTS).toString())),
        controllerPort,
        nodeId,
        region,
        zone,
        Map.of(
            NodeMetadata.ROLE, NodeMetadata.ROLE_GRPC,
            NodeMetadata.NAMESPACE, namespace,
            NodeMetadata.SERVICE_ACCOUNT, serviceAccount));
  }

  private static ManagedChannel channel(
      String target,
      Map<String, ?> channelCredentials,
      int controllerPort,
      String nodeId,
      String region,
      String zone,
      Map<String, String> metadata) {
    Map<String, ?> bootstrap =
        Map.of(
            "xds_servers",
            List.of(
                Map.of(
                    "server_uri", "127.0.0.1:" + controllerPort,
                    "channel_creds", List.of(channelCredentials),
                    "server_features", List.of("xds_v3"))),
            "node",
            Map.of(
                "id",
                nodeId,
                "cluster",
                "east",
                "locality",
                Map.of("region", region, "zone", zone),
                "metadata",
                metadata));
    @SuppressWarnings("deprecation")
    ManagedChannel channel =
        ManagedChannelBuilder.forTarget(target)
            .nameResolverFactory(XdsNameResolverProvider.createForTest("xds", bootstrap))
            .usePlaintext()
            .build();
    return channel;
  }
}
