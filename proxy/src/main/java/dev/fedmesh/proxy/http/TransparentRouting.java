package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetSocketAddress;

/**
 * Routing for HTTP on an intercepted connection: by Host as the outbound listener routes, and a
 * host with no route goes to the connection's original destination in plaintext (Istio's {@code
 * PassthroughCluster}, ALLOW_ANY) or is answered 502 (REGISTRY_ONLY, Istio's {@code
 * BlackHoleCluster}).
 */
final class TransparentRouting implements Routing {
  static final String PASSTHROUGH = dev.fedmesh.model.XdsNames.PASSTHROUGH_CLUSTER;

  private final Routing routes;
  private final InetSocketAddress destination;
  private final boolean allowAny;
  private UpstreamCluster passthrough;
  private UpstreamCluster original;

  TransparentRouting(Routing routes, InetSocketAddress destination, boolean allowAny) {
    this.routes = requireNonNull(routes, "routes");
    this.destination = requireNonNull(destination, "destination");
    this.allowAny = allowAny;
  }

  @Override
  public Routed route(HttpRequest request, String authority, String path, Channel downstream) {
    Routed routed = routes.route(request, authority, path, downstream);
    if (routed instanceof Forward forward
        && forward.cluster().config().getType() == Cluster.DiscoveryType.ORIGINAL_DST) {
      return toDestination(forward);
    }
    if (!(routed instanceof Local local && isNoRoute(local))) {
      return routed;
    }
    if (!allowAny) {
      return new Local(
          502,
          "no route for "
              + authority
              + " and outbound traffic to "
              + destination
              + " is limited to the mesh's services (REGISTRY_ONLY)",
          "NR");
    }
    if (passthrough == null) {
      passthrough = passthrough(destination);
    }
    return new Forward(passthrough, RetryRules.NONE, 0, path, authority);
  }

  /**
   * A route to an ORIGINAL_DST cluster (a ServiceEntry of resolution NONE) goes to where the
   * connection was going, with the cluster's settings.
   */
  private Forward toDestination(Forward forward) {
    if (original == null || !original.config().equals(forward.cluster().config())) {
      original = UpstreamCluster.originalDestination(forward.cluster().config(), destination);
    }
    return new Forward(
        original,
        forward.retry(),
        forward.timeoutMillis(),
        forward.path(),
        forward.authority(),
        forward.delayMillis(),
        forward.requestHeaders(),
        forward.responseHeaders(),
        forward.hash(),
        forward.hashed());
  }

  @Override
  public PathNormalizer.Options pathOptions(Channel downstream) {
    return routes.pathOptions(downstream);
  }

  /** The outbound routing's answer for a host no virtual host claims (Envoy's NR, a 404). */
  static boolean isNoRoute(Local local) {
    return local.status() == 404 && local.flag().equals("NR");
  }

  private static UpstreamCluster passthrough(InetSocketAddress destination) {
    return UpstreamCluster.singleHost(PASSTHROUGH, destination, java.time.Duration.ofSeconds(10));
  }
}
