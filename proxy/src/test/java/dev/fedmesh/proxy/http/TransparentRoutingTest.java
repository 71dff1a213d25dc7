package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.proxy.intercept.InterceptionMode;
import dev.fedmesh.proxy.upstream.ClusterManager;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** HTTP on an intercepted connection: hosts the mesh knows are routed, others per the policy. */
class TransparentRoutingTest {
  private static final InetSocketAddress DESTINATION = new InetSocketAddress("198.18.9.9", 8080);

  private final OutboundRouting routes =
      new OutboundRouting(new ClusterManager(), 15001, new ProxyStats());

  {
    routes.apply(
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("known")
                    .addDomains("known.test")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster("known"))))
            .build());
  }

  @Test
  void anUnknownHostPassesThroughToTheOriginalDestinationUnderAllowAny() {
    Routing.Routed routed =
        new TransparentRouting(routes, DESTINATION, true).route(get(), "example.org", "/a?b", null);

    assertThat(routed).isInstanceOf(Routing.Forward.class);
    Routing.Forward forward = (Routing.Forward) routed;
    assertThat(forward.cluster().name()).isEqualTo("PassthroughCluster");
    assertThat(forward.cluster().hosts().get(0).address()).isEqualTo(DESTINATION);
    assertThat(forward.path()).isEqualTo("/a?b");
    assertThat(forward.authority()).isEqualTo("example.org");
  }

  @Test
  void anUnknownHostIsRefusedUnderRegistryOnly() {
    Routing.Routed routed =
        new TransparentRouting(routes, DESTINATION, false).route(get(), "example.org", "/", null);

    assertThat(routed).isInstanceOf(Routing.Local.class);
    assertThat(((Routing.Local) routed).status()).isEqualTo(502);
    assertThat(((Routing.Local) routed).message()).contains("REGISTRY_ONLY");
  }

  @Test
  void aKnownHostIsRoutedAsTheExplicitProxyRoutesIt() {
    // "known" has no cluster in this proxy: the outbound routing's own answer comes back as is.
    Routing.Routed routed =
        new TransparentRouting(routes, DESTINATION, true).route(get(), "known.test", "/", null);

    assertThat(routed).isEqualTo(routes.route(get(), "known.test", "/", null));
    assertThat(((Routing.Local) routed).status()).isEqualTo(503);
  }

  @Test
  void aRouteToAnOriginalDestinationClusterGoesWhereTheConnectionWasGoing() {
    ClusterManager clusters = new ClusterManager();
    io.envoyproxy.envoy.config.cluster.v3.Cluster none =
        io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder()
            .setName("outbound|8080||api.example.com")
            .setType(io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.ORIGINAL_DST)
            .setLbPolicy(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.CLUSTER_PROVIDED)
            .build();
    clusters.apply(
        new dev.fedmesh.proxy.xds.ProxyConfig(
            java.util.Map.of(),
            java.util.Map.of(),
            java.util.Map.of(none.getName(), none),
            java.util.Map.of()));
    OutboundRouting entries = new OutboundRouting(clusters, 15001, new ProxyStats());
    entries.apply(
        RouteConfiguration.newBuilder()
            .setName("outbound")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("api.example.com:8080")
                    .addDomains("api.example.com:8080")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster(none.getName()))))
            .build());

    Routing.Forward intercepted =
        (Routing.Forward)
            new TransparentRouting(entries, DESTINATION, false)
                .route(get(), "api.example.com:8080", "/", null);
    Routing.Forward explicit =
        (Routing.Forward) entries.route(get(), "api.example.com:8080", "/", null);

    assertThat(intercepted.cluster().name()).isEqualTo(none.getName());
    assertThat(intercepted.cluster().hosts().get(0).address()).isEqualTo(DESTINATION);
    // Through the explicit proxy, where the request names.
    assertThat(explicit.cluster().hosts().get(0).address())
        .isEqualTo(InetSocketAddress.createUnresolved("api.example.com", 8080));
    clusters.close();
  }

  @Test
  void interceptionOnTheNioTransportFailsAtStartNamingTheCause() {
    NioEventLoopGroup group = new NioEventLoopGroup(1);
    try {
      assertThatThrownBy(
              () ->
                  HttpProxy.builder(group)
                      .outbound(new InetSocketAddress("127.0.0.1", 0))
                      .interception(
                          InterceptionMode.REDIRECT, new InetSocketAddress("127.0.0.1", 0))
                      .start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("interception: REDIRECT needs Netty's native epoll transport");
    } finally {
      group.shutdownGracefully().syncUninterruptibly();
    }
  }

  private static DefaultHttpRequest get() {
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
  }
}
