package dev.fedmesh.controller.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.KeyIdentifiers;
import dev.fedmesh.trust.SpiffeId;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets an ADS stream through only when the proxy proved who it is: it connected over TLS with a
 * client certificate (verified against the mesh's roots by the server's trust manager), and the
 * node it announces in the stream's first request matches that certificate. The namespace and
 * service account in the node's metadata must be those of the certificate's SPIFFE ID; the gateway
 * role is for the control plane's own namespace; the cluster must be the one whose CA issued the
 * certificate, as its agent announced that CA. Otherwise a workload could ask for the config of
 * another, or a stranger for every pod address in the mesh.
 */
public final class ProxyAuthenticator implements ServerInterceptor {
  private final Supplier<MeshSnapshot> mesh;

  /**
   * @param mesh the mesh as last published, for the CA each cluster's agent announced
   */
  public ProxyAuthenticator(Supplier<MeshSnapshot> mesh) {
    this.mesh = java.util.Objects.requireNonNull(mesh, "mesh");
  }

  private static final Logger log = LoggerFactory.getLogger(ProxyAuthenticator.class);
  private static final Pattern WORKLOAD_PATH = Pattern.compile("/ns/([^/]+)/sa/([^/]+)");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Optional<SpiffeId> peer = ControlPlaneTls.peerId(call.getAttributes());
    Optional<String> issuer =
        ControlPlaneTls.peerCertificate(call.getAttributes()).flatMap(KeyIdentifiers::authority);
    if (peer.isEmpty()) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              "xDS needs a client certificate: the proxy's SVID"
                  + " (spiffe://<trust domain>/ns/<namespace>/sa/<service account>)"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      private boolean checked;
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) {
          return;
        }
        if (!checked) {
          Node node = nodeOf(message);
          Optional<String> problem =
              mismatch(node, peer.get())
                  .or(
                      () ->
                          clusterMismatch(
                              ProxyContexts.fromNode(node).cluster(), issuer, mesh.get()));
          if (problem.isPresent()) {
            refused = true;
            log.warn("refused ADS stream from {}: {}", peer.get(), problem.get());
            call.close(Status.PERMISSION_DENIED.withDescription(problem.get()), new Metadata());
            return;
          }
          checked = true;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
  }

  private static Node nodeOf(Object message) {
    if (message instanceof DiscoveryRequest request && request.hasNode()) {
      return request.getNode();
    }
    if (message instanceof DeltaDiscoveryRequest request && request.hasNode()) {
      return request.getNode();
    }
    return null;
  }

  /** What keeps {@code node} from being the proxy {@code certificate} names, or empty. */
  static Optional<String> mismatch(Node node, SpiffeId certificate) {
    if (node == null) {
      return Optional.of(
          "node: missing in the stream's first request (expected: the proxy's node)");
    }
    Matcher workload = WORKLOAD_PATH.matcher(certificate.path());
    if (!workload.matches()) {
      return Optional.of(
          "client certificate "
              + certificate.uri()
              + ": not a workload identity (expected: spiffe://<td>/ns/<namespace>/sa/<account>)");
    }
    Struct metadata = node.getMetadata();
    Optional<String> namespace =
        field(metadata, NodeMetadata.NAMESPACE, workload.group(1), certificate);
    if (namespace.isPresent()) {
      return namespace;
    }
    Optional<String> account =
        field(metadata, NodeMetadata.SERVICE_ACCOUNT, workload.group(2), certificate);
    if (account.isPresent()) {
      return account;
    }
    String role = string(metadata, NodeMetadata.ROLE);
    if (NodeMetadata.ROLE_GATEWAY.equals(role)
        && !ControlPlaneTls.SYSTEM_NAMESPACE.equals(workload.group(1))) {
      return Optional.of(
          "node.metadata."
              + NodeMetadata.ROLE
              + ": 'gateway' (expected: gateways run in namespace "
              + ControlPlaneTls.SYSTEM_NAMESPACE
              + "; the client certificate is "
              + certificate.uri()
              + ")");
    }
    return Optional.empty();
  }

  /**
   * What keeps {@code claimed} from being the cluster whose CA issued the certificate (the CA with
   * key id {@code issuer}), or empty. Clusters whose agent announced no CA cannot be checked.
   */
  static Optional<String> clusterMismatch(
      String claimed, Optional<String> issuer, MeshSnapshot mesh) {
    if (issuer.isEmpty()) {
      return Optional.empty();
    }
    List<String> issuedBy = new ArrayList<>();
    String claimedCa = "";
    for (Map.Entry<ClusterName, ClusterState> cluster : mesh.clusters().entrySet()) {
      String caKeyId = cluster.getValue().info().caKeyId();
      if (caKeyId.equals(issuer.get())) {
        issuedBy.add(cluster.getKey().value());
      }
      if (cluster.getKey().value().equals(claimed)) {
        claimedCa = caKeyId;
      }
    }
    boolean otherCa = !claimedCa.isEmpty() && !claimedCa.equals(issuer.get());
    boolean anotherClustersCertificate = !issuedBy.isEmpty() && !issuedBy.contains(claimed);
    if (!otherCa && !anotherClustersCertificate) {
      return Optional.empty();
    }
    return Optional.of(
        "node.metadata."
            + NodeMetadata.CLUSTER
            + ": '"
            + claimed
            + "' (expected: "
            + (issuedBy.isEmpty()
                ? "a cluster whose CA issued the client certificate"
                : "the cluster whose CA issued the client certificate, "
                    + String.join(" or ", issuedBy))
            + ")");
  }

  private static Optional<String> field(
      Struct metadata, String key, String expected, SpiffeId certificate) {
    String value = string(metadata, key);
    if (expected.equals(value)) {
      return Optional.empty();
    }
    return Optional.of(
        "node.metadata."
            + key
            + ": "
            + (value == null ? "missing" : "'" + value + "'")
            + " (expected: '"
            + expected
            + "', as in the client certificate "
            + certificate.uri()
            + ")");
  }

  private static String string(Struct metadata, String key) {
    Value value = metadata.getFieldsOrDefault(key, null);
    return value == null || value.getKindCase() != Value.KindCase.STRING_VALUE
        ? null
        : value.getStringValue();
  }
}
