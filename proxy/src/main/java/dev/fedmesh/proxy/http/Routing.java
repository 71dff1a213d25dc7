package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;

/** Decides where a request goes: the outbound side by RDS, the inbound side to the local app. */
interface Routing {
  /** The outcome of routing one request. */
  sealed interface Routed permits Forward, Local {}

  /**
   * Send upstream.
   *
   * @param timeoutMillis the whole request's timeout over all tries; 0 for none
   * @param path the path to send (after any rewrite)
   * @param authority the Host / :authority to send
   * @param requestHeaders the route's mutations of the request headers
   * @param responseHeaders the route's mutations of the response headers (and of local replies
   *     about this upstream: no healthy host, timeouts, overflow)
   * @param hash the request's hash key for a RING_HASH or MAGLEV cluster, when {@code hashed}
   */
  record Forward(
      UpstreamCluster cluster,
      RetryRules retry,
      long timeoutMillis,
      String path,
      String authority,
      long delayMillis,
      HeaderMutations requestHeaders,
      HeaderMutations responseHeaders,
      long hash,
      boolean hashed)
      implements Routed {
    Forward(
        UpstreamCluster cluster,
        RetryRules retry,
        long timeoutMillis,
        String path,
        String authority) {
      this(
          cluster,
          retry,
          timeoutMillis,
          path,
          authority,
          0,
          HeaderMutations.NONE,
          HeaderMutations.NONE,
          0,
          false);
    }
  }

  /**
   * Answer locally (no route, no cluster, a direct response, a redirect, an injected fault).
   *
   * @param grpcStatus the gRPC status for gRPC callers, or -1 to derive it from {@code status}
   * @param delayMillis how long to wait before answering (an injected delay)
   * @param location the {@code Location} of a redirect (answered with no body), else null
   * @param responseHeaders the matched route's response header mutations, where Envoy applies them
   *     to the reply
   */
  record Local(
      int status,
      String message,
      int grpcStatus,
      long delayMillis,
      String flag,
      String location,
      HeaderMutations responseHeaders)
      implements Routed {
    Local(int status, String message) {
      this(status, message, -1, 0, "", null, HeaderMutations.NONE);
    }

    /** A reply with Envoy's response flag for it (NR, NC, RBAC, FI, ...). */
    Local(int status, String message, String flag) {
      this(status, message, -1, 0, flag, null, HeaderMutations.NONE);
    }

    /** An injected fault's reply. */
    Local(int status, String message, int grpcStatus, long delayMillis, String flag) {
      this(status, message, grpcStatus, delayMillis, flag, null, HeaderMutations.NONE);
    }
  }

  /**
   * Routes a request.
   *
   * @param authority the request's authority (absolute-form URI host, else Host header)
   * @param path the origin-form path with query, normalized per {@link #pathOptions}
   * @param downstream the channel the request came on (an HTTP/2 stream's parent is the connection)
   */
  Routed route(HttpRequest request, String authority, String path, Channel downstream);

  /** How paths arriving on {@code downstream} are normalized before {@link #route}. */
  default PathNormalizer.Options pathOptions(Channel downstream) {
    return PathNormalizer.Options.DEFAULT;
  }
}
