package dev.fedmesh.gateway;

import dev.fedmesh.proxy.xds.ProxyConfig;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.Set;

/**
 * The gateway's view of its upstream clusters: which endpoint a new connection goes to, and what
 * became of it. Implementations are safe to call from any event loop.
 */
interface Upstreams {
  /** Takes in a new config; hosts that stay keep their state. Called on the config thread. */
  void apply(ProxyConfig config);

  /** An endpoint of {@code cluster} not in {@code tried}, or empty when none may take one. */
  Optional<Endpoint> pick(String cluster, Set<InetSocketAddress> tried);

  /** One endpoint, and what the gateway reports about connections to it. */
  interface Endpoint {
    InetSocketAddress address();

    /** A connection to it was made. */
    void connected();

    /** A connection to it could not be made (refused, unreachable, timed out). */
    void connectFailed();

    /** A connection to it that {@link #connected()} ended. */
    void closed();
  }
}
