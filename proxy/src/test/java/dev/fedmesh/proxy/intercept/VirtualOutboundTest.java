package dev.fedmesh.proxy.intercept;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.testkit.PrometheusText;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The outbound capture listener's decisions over real loopback sockets, with the original
 * destination told by the test (reading it from the kernel needs iptables and root: {@code
 * TransparentInterceptionIT} does that).
 */
class VirtualOutboundTest {
  private static final InetSocketAddress SERVICE_VIP = new InetSocketAddress("127.0.0.2", 7000);

  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final AtomicReference<Optional<InetSocketAddress>> destination =
      new AtomicReference<>(Optional.empty());
  private final List<String> handedOver = new ArrayList<>();
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final InterceptStats stats = new InterceptStats(registry);
  private final Telemetry telemetry =
      new Telemetry(
          registry,
          new Workload("client-v1", "shop", "client", "v1", "east"),
          () -> "spiffe://fedmesh.local/ns/shop/sa/client");
  private Channel listener;

  @AfterEach
  void tearDown() throws Exception {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    for (AutoCloseable closeable : closeables) {
      closeable.close();
    }
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aDestinationWithATcpChainGoesToItsClusterUnread() throws Exception {
    LineServer service = server("service", false);
    start(config(service.address(), "PassthroughCluster"));
    destination.set(Optional.of(SERVICE_VIP));

    assertThat(exchange("ping")).isEqualTo("service:ping");
    assertThat(stats.count("outbound", "tcp_proxy")).isEqualTo(1);
    assertTcpMetrics("service", "ping\r\n".length(), "service:ping\n".length());
  }

  /** One connection to {@code service} in Istio's TCP metrics, with its bytes, once closed. */
  private void assertTcpMetrics(String service, long received, long sent) {
    Map<String, String> labels =
        Map.of(
            "reporter", "source",
            "source_workload", "client-v1",
            "destination_service", service);
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              ByteArrayOutputStream out = new ByteArrayOutputStream();
              PrometheusTextFormatWriter.create().write(out, registry.scrape());
              List<PrometheusText.Sample> samples =
                  PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
              assertThat(PrometheusText.sum(samples, "istio_tcp_connections_opened_total", labels))
                  .isEqualTo(1);
              assertThat(PrometheusText.sum(samples, "istio_tcp_connections_closed_total", labels))
                  .isEqualTo(1);
              assertThat(PrometheusText.sum(samples, "istio_tcp_received_bytes_total", labels))
                  .isEqualTo(received);
              assertThat(PrometheusText.sum(samples, "istio_tcp_sent_bytes_total", labels))
                  .isEqualTo(sent);
            });
  }

  @Test
  void anUnknownDestinationPassesThroughWhenTheDefaultChainIsAnOriginalDstCluster()
      throws Exception {
    LineServer outside = server("outside", false);
    start(config(server("service", false).address(), "PassthroughCluster"));
    destination.set(Optional.of(outside.address()));

    assertThat(exchange("hello")).isEqualTo("outside:hello");
    assertThat(stats.count("outbound", "passthrough")).isEqualTo(1);
    assertTcpMetrics("PassthroughCluster", "hello\r\n".length(), "outside:hello\n".length());
  }

  @Test
  void anUnknownDestinationIsClosedWhenTheDefaultChainHasNoHosts() throws Exception {
    LineServer outside = server("outside", false);
    start(config(server("service", false).address(), "BlackHoleCluster"));
    destination.set(Optional.of(outside.address()));

    assertThat(exchange("hello")).isNull();
    assertThat(stats.count("outbound", "blackhole")).isEqualTo(1);
    assertThat(outside.accepted()).isZero();
  }

  @Test
  void aServerFirstProtocolIsRelayedOnceTheClientHasBeenSilentForTheDetectionTimeout()
      throws Exception {
    LineServer greeter = server("greeter", true);
    start(config(server("service", false).address(), "PassthroughCluster"));
    destination.set(Optional.of(greeter.address()));

    try (Socket socket = connect()) {
      String greeting = reader(socket).readLine();
      assertThat(greeting).isEqualTo("greeter:hello");
    }
  }

  @Test
  void httpIsHandedToTheHttpPipelineWithThePolicyAndConnectionsToTheListenerAreExplicit()
      throws Exception {
    InetSocketAddress outside = server("outside", false).address();
    start(config(server("service", false).address(), "BlackHoleCluster"));

    destination.set(Optional.of(outside));
    assertThat(exchange("GET / HTTP/1.1")).isEqualTo("http allowAny=false to " + outside);
    destination.set(Optional.empty());
    assertThat(exchange("GET / HTTP/1.1")).isEqualTo("explicit");
  }

  @Test
  void tlsIsSentByItsServerNameToTheChainThatNamesIt() throws Exception {
    LineServer api = server("api", false);
    LineServer outside = server("outside", false);
    ProxyConfig base = config(server("service", false).address(), "BlackHoleCluster");
    Listener listener =
        base.listeners().get(OutboundChains.LISTENER).toBuilder()
            .addFilterChains(
                FilterChain.newBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder()
                            .setDestinationPort(UInt32Value.of(outside.address().getPort()))
                            .addServerNames("api.example.com")
                            .setTransportProtocol("tls"))
                    .addFilters(tcp("api")))
            .build();
    Map<String, Cluster> clusters = new java.util.HashMap<>(base.clusters());
    clusters.put(
        "api",
        Cluster.newBuilder()
            .setName("api")
            .setType(Cluster.DiscoveryType.STATIC)
            .setConnectTimeout(Durations.fromSeconds(1))
            .setLoadAssignment(assignment("api", api.address()))
            .build());
    start(new ProxyConfig(Map.of(listener.getName(), listener), Map.of(), clusters, Map.of()));
    destination.set(Optional.of(outside.address()));

    assertThat(tls("api.example.com")).startsWith("api:");
    assertThat(stats.count("outbound", "tls_proxy")).isEqualTo(1);
    // Another name (or none) is no entry's: REGISTRY_ONLY's black hole closes it.
    assertThat(tls("other.example.com")).isNull();
    assertThat(outside.accepted()).isZero();
  }

  /** Sends a ClientHello naming {@code sni} and a line end; returns the answer line, if any. */
  private String tls(String sni) throws Exception {
    try (Socket socket = connect()) {
      socket.getOutputStream().write(OutboundSnifferTest.clientHello(sni));
      socket.getOutputStream().write('\n');
      socket.getOutputStream().flush();
      return reader(socket).readLine();
    }
  }

  // ---- fixtures ----

  private void start(ProxyConfig config) throws InterruptedException {
    ClusterManager clusters = new ClusterManager();
    clusters.apply(config);
    OutboundChains chains = OutboundChains.of(config, 15001);
    VirtualOutbound capture =
        new VirtualOutbound(
            () -> chains,
            clusters,
            ch -> answer(ch, "explicit"),
            (ch, http2, to, allowAny) -> answer(ch, "http allowAny=" + allowAny + " to " + to),
            (loop, cluster, host, onOpen, onFailure) ->
                new Bootstrap()
                    .group(loop)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(
                        new ChannelInitializer<Channel>() {
                          @Override
                          protected void initChannel(Channel ch) {}
                        })
                    .connect(host.address())
                    .addListener(
                        (ChannelFuture f) -> {
                          if (f.isSuccess()) {
                            onOpen.accept(f.channel());
                          } else {
                            onFailure.accept(f.cause());
                          }
                        }),
            stats,
            telemetry,
            Duration.ofMillis(200),
            ch -> destination.get());
    listener =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(capture)
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .sync()
            .channel();
  }

  /** Stands in for a pipeline: answers one line naming what was installed, then closes. */
  private void answer(Channel ch, String what) {
    handedOver.add(what);
    ch.writeAndFlush(Unpooled.copiedBuffer(what + "\n", StandardCharsets.UTF_8))
        .addListener(ChannelFutureListener.CLOSE);
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(listener.localAddress(), 2000);
    socket.setSoTimeout(5000);
    return socket;
  }

  /** Sends a line, returns the answer line (null: closed without one). */
  private String exchange(String line) throws IOException {
    try (Socket socket = connect()) {
      socket.getOutputStream().write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      return reader(socket).readLine();
    }
  }

  private static BufferedReader reader(Socket socket) throws IOException {
    return new BufferedReader(
        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
  }

  /** The outbound listener's config: one TCP chain for the service's address, a default chain. */
  private static ProxyConfig config(InetSocketAddress service, String fallback) {
    Cluster serviceCluster =
        Cluster.newBuilder()
            .setName("service")
            .setType(Cluster.DiscoveryType.STATIC)
            .setConnectTimeout(Durations.fromSeconds(1))
            .setLoadAssignment(assignment("service", service))
            .build();
    Cluster passthrough =
        Cluster.newBuilder()
            .setName("PassthroughCluster")
            .setType(Cluster.DiscoveryType.ORIGINAL_DST)
            .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
            .build();
    Cluster blackhole =
        Cluster.newBuilder()
            .setName("BlackHoleCluster")
            .setType(Cluster.DiscoveryType.STATIC)
            .setLoadAssignment(
                ClusterLoadAssignment.newBuilder().setClusterName("BlackHoleCluster"))
            .build();
    Listener listener =
        Listener.newBuilder()
            .setName(OutboundChains.LISTENER)
            .addFilterChains(
                FilterChain.newBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder()
                            .setDestinationPort(UInt32Value.of(SERVICE_VIP.getPort()))
                            .addPrefixRanges(
                                CidrRange.newBuilder()
                                    .setAddressPrefix(SERVICE_VIP.getHostString())
                                    .setPrefixLen(UInt32Value.of(32))))
                    .addFilters(tcp("service")))
            .setDefaultFilterChain(FilterChain.newBuilder().addFilters(tcp(fallback)))
            .build();
    return new ProxyConfig(
        Map.of(listener.getName(), listener),
        Map.of(),
        Map.of(
            "service",
            serviceCluster,
            passthrough.getName(),
            passthrough,
            "BlackHoleCluster",
            blackhole),
        Map.of());
  }

  private static ClusterLoadAssignment assignment(String name, InetSocketAddress address) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(name)
        .addEndpoints(
            LocalityLbEndpoints.newBuilder()
                .addLbEndpoints(
                    LbEndpoint.newBuilder()
                        .setEndpoint(
                            Endpoint.newBuilder()
                                .setAddress(
                                    Address.newBuilder()
                                        .setSocketAddress(
                                            SocketAddress.newBuilder()
                                                .setAddress(address.getHostString())
                                                .setPortValue(address.getPort()))))))
        .build();
  }

  private static Filter tcp(String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }

  private LineServer server(String name, boolean greets) throws IOException {
    LineServer server = new LineServer(name, greets);
    closeables.add(server);
    return server;
  }

  /** Answers {@code <name>:<line>} to one line per connection; a greeter says hello first. */
  private static final class LineServer implements AutoCloseable {
    private final ServerSocket socket = new ServerSocket();
    private final java.util.concurrent.atomic.AtomicInteger accepted =
        new java.util.concurrent.atomic.AtomicInteger();

    LineServer(String name, boolean greets) throws IOException {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      Thread thread =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try (Socket client = socket.accept()) {
                    accepted.incrementAndGet();
                    var out = client.getOutputStream();
                    if (greets) {
                      out.write((name + ":hello\n").getBytes(StandardCharsets.UTF_8));
                      out.flush();
                      continue;
                    }
                    String line = reader(client).readLine();
                    out.write((name + ":" + line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                  } catch (IOException e) {
                    // closed, or a client gone
                  }
                }
              },
              "line-server-" + name);
      thread.setDaemon(true);
      thread.start();
    }

    InetSocketAddress address() {
      return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    int accepted() {
      return accepted.get();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
