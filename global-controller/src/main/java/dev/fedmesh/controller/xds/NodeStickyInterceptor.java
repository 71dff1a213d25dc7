package dev.fedmesh.controller.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Envoy and gRPC send the {@code node} only in a stream's first request (Envoy's {@code
 * set_node_on_first_message_only}); the snapshot cache picks a proxy's group from the node of every
 * request. This interceptor copies the first request's node into later ones that lack it.
 */
final class NodeStickyInterceptor implements ServerInterceptor {
  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      private Node node;

      @Override
      @SuppressWarnings("unchecked")
      public void onMessage(Q message) {
        if (message instanceof DiscoveryRequest request) {
          if (request.hasNode()) {
            node = request.getNode();
          } else if (node != null) {
            message = (Q) request.toBuilder().setNode(node).build();
          }
        } else if (message instanceof DeltaDiscoveryRequest request) {
          if (request.hasNode()) {
            node = request.getNode();
          } else if (node != null) {
            message = (Q) request.toBuilder().setNode(node).build();
          }
        }
        super.onMessage(message);
      }
    };
  }
}
