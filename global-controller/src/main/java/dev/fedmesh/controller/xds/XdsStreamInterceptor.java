package dev.fedmesh.controller.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-stream fixes between gRPC and java-control-plane for every ADS stream:
 *
 * <ul>
 *   <li><b>Sticky node.</b> Envoy and gRPC send the {@code node} only in a stream's first request
 *       (Envoy's {@code set_node_on_first_message_only}); the cache picks a proxy's group from the
 *       node of every request, so later requests get the first one's node.
 *   <li><b>No resending a rejected version.</b> A NACK carries the last version the proxy accepted;
 *       the cache, seeing it differ from its own, would answer at once with the config just
 *       rejected, forever. The NACK is rewritten to carry the rejected version instead, so the
 *       cache waits until the config actually changes. The error detail stays for status.
 *   <li><b>Oversized responses.</b> A response larger than a client's default 4 MiB message limit
 *       is counted and logged with its type, never dropped silently.
 * </ul>
 */
final class XdsStreamInterceptor implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(XdsStreamInterceptor.class);

  /** gRPC's default maximum inbound message size, which Envoy and gRPC clients keep. */
  static final int CLIENT_MESSAGE_LIMIT = 4 * 1024 * 1024;

  private static final int NONCES_KEPT_PER_TYPE = 16;

  private final IntConsumer oversized;

  /**
   * @param oversized told the size of every response over {@link #CLIENT_MESSAGE_LIMIT}
   */
  XdsStreamInterceptor(IntConsumer oversized) {
    this.oversized = oversized;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    // Versions sent on this stream, by type URL and nonce. gRPC calls sendMessage and onMessage
    // for one call serially, but on different threads, so access is synchronized.
    Map<String, Map<String, String>> sent = new HashMap<>();
    ServerCall<Q, R> recording =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void sendMessage(R message) {
            if (message instanceof DiscoveryResponse response) {
              synchronized (sent) {
                sent.computeIfAbsent(response.getTypeUrl(), type -> boundedMap())
                    .put(response.getNonce(), response.getVersionInfo());
              }
              int size = response.getSerializedSize();
              if (size > CLIENT_MESSAGE_LIMIT) {
                log.error(
                    "{} response of {} bytes exceeds clients' {} byte limit; it will be rejected"
                        + " (use delta xDS, or request resources by name)",
                    response.getTypeUrl(),
                    size,
                    CLIENT_MESSAGE_LIMIT);
                oversized.accept(size);
              }
            }
            super.sendMessage(message);
          }
        };
    return new SimpleForwardingServerCallListener<>(next.startCall(recording, headers)) {
      private Node node;

      @Override
      @SuppressWarnings("unchecked")
      public void onMessage(Q message) {
        if (message instanceof DiscoveryRequest request) {
          DiscoveryRequest.Builder rewritten = null;
          if (request.hasNode()) {
            node = request.getNode();
          } else if (node != null) {
            rewritten = request.toBuilder().setNode(node);
          }
          if (request.hasErrorDetail()) {
            String rejected;
            synchronized (sent) {
              rejected =
                  sent.getOrDefault(request.getTypeUrl(), Map.of()).get(request.getResponseNonce());
            }
            if (rejected != null) {
              rewritten =
                  (rewritten == null ? request.toBuilder() : rewritten).setVersionInfo(rejected);
            }
          }
          if (rewritten != null) {
            message = (Q) rewritten.build();
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

  private static Map<String, String> boundedMap() {
    return new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
        return size() > NONCES_KEPT_PER_TYPE;
      }
    };
  }
}
