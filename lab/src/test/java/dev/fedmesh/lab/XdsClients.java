package dev.fedmesh.lab;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.xds.XdsNameResolverProvider;
import java.util.List;
import java.util.Map;

/** grpc-java's own xDS client, bootstrapped at a controller, for end-to-end checks. */
final class XdsClients {
  private XdsClients() {}

  /** A channel to {@code target} ({@code xds:///...}) for a client at region/zone. */
  static ManagedChannel channel(
      String target, int controllerPort, String nodeId, String region, String zone) {
    Map<String, ?> bootstrap =
        Map.of(
            "xds_servers",
            List.of(
                Map.of(
                    "server_uri", "127.0.0.1:" + controllerPort,
                    "channel_creds", List.of(Map.of("type", "insecure")),
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
                Map.of("FEDMESH_ROLE", "grpc")));
    @SuppressWarnings("deprecation")
    ManagedChannel channel =
        ManagedChannelBuilder.forTarget(target)
            .nameResolverFactory(XdsNameResolverProvider.createForTest("xds", bootstrap))
            .usePlaintext()
            .build();
    return channel;
  }
}
