package dev.fedmesh.controller.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ProxyRole;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.NodeMetadata;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * Reads a {@link ProxyContext} from the xDS node a proxy sends. Metadata fields (strings):
 *
 * <ul>
 *   <li>{@code FEDMESH_ROLE}: {@code grpc} (default), {@code sidecar} or {@code gateway}
 *   <li>{@code FEDMESH_CLUSTER}: the member cluster; defaults to the node's {@code cluster}
 *   <li>{@code NETWORK}: the proxy's network, as Istio names it; empty reaches everything directly
 *   <li>{@code NAMESPACE} and {@code LABELS} (sidecars): the workload's, for inbound policy
 * </ul>
 *
 * The locality is the node's own {@code locality}.
 */
public final class ProxyContexts {
  private static final String ROLE = NodeMetadata.ROLE;
  private static final String CLUSTER = NodeMetadata.CLUSTER;
  private static final String NETWORK = NodeMetadata.NETWORK;

  private ProxyContexts() {}

  /**
   * @throws IllegalArgumentException naming the field when the node's metadata is invalid
   */
  public static ProxyContext fromNode(Node node) {
    Struct metadata = node.getMetadata();
    String roleName = string(metadata, ROLE, ProxyRole.PROXYLESS_GRPC.metadataValue());
    ProxyRole role =
        ProxyRole.fromMetadata(roleName)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "node.metadata."
                            + ROLE
                            + ": '"
                            + roleName
                            + "' (expected: grpc, sidecar or gateway)"));
    String cluster = string(metadata, CLUSTER, node.getCluster());
    String network = string(metadata, NETWORK, "");
    var locality = node.getLocality();
    ProxyContext context =
        new ProxyContext(
            role,
            cluster,
            network,
            new Locality(locality.getRegion(), locality.getZone(), locality.getSubZone()));
    if (role != ProxyRole.SIDECAR) {
      return context;
    }
    // A sidecar's inbound policy depends on its workload: its namespace and labels.
    java.util.Map<String, String> labels = new java.util.TreeMap<>();
    Value labelValue = metadata.getFieldsOrDefault(NodeMetadata.LABELS, null);
    if (labelValue != null && labelValue.hasStructValue()) {
      labelValue
          .getStructValue()
          .getFieldsMap()
          .forEach(
              (key, value) -> {
                if (value.getKindCase() == Value.KindCase.STRING_VALUE) {
                  labels.put(key, value.getStringValue());
                }
              });
    }
    return context
        .withWorkload(string(metadata, NodeMetadata.NAMESPACE, ""), labels)
        .withDnsCapture("true".equals(string(metadata, NodeMetadata.DNS_CAPTURE, "")));
  }

  /** The addresses a proxy announced in {@code INSTANCE_IPS} (strings; anything else ignored). */
  public static java.util.List<String> addresses(Node node) {
    Value value = node.getMetadata().getFieldsOrDefault(NodeMetadata.INSTANCE_IPS, null);
    if (value == null) {
      return java.util.List.of();
    }
    if (value.getKindCase() == Value.KindCase.STRING_VALUE) {
      // Istio sends one comma-separated string; a list is also accepted.
      return java.util.Arrays.stream(value.getStringValue().split(","))
          .map(String::strip)
          .filter(s -> !s.isEmpty())
          .toList();
    }
    if (!value.hasListValue()) {
      return java.util.List.of();
    }
    return value.getListValue().getValuesList().stream()
        .filter(v -> v.getKindCase() == Value.KindCase.STRING_VALUE)
        .map(Value::getStringValue)
        .toList();
  }

  private static String string(Struct metadata, String field, String fallback) {
    Value value = metadata.getFieldsOrDefault(field, null);
    if (value == null || value.getKindCase() != Value.KindCase.STRING_VALUE) {
      return fallback;
    }
    return value.getStringValue();
  }
}
