package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
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
   */
  record Forward(
      UpstreamCluster cluster, RetryRules retry, long timeoutMillis, String path, String authority)
      implements Routed {}

  /** Answer locally (no route, no cluster, a direct response). */
  record Local(int status, String message) implements Routed {}

  /**
   * Routes a request.
   *
   * @param authority the request's authority (absolute-form URI host, else Host header)
   * @param path the origin-form path with query
   */
  Routed route(HttpRequest request, String authority, String path);
}
