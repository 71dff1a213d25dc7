package dev.fedmesh.benchmarks.load;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.gateway.DirectConfigSource;
import dev.fedmesh.gateway.EastWestGateway;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;

/**
 * The east-west gateway in a JVM of its own for {@link GatewayBenchmark}, with the config the
 * controller would send a gateway exporting one service: listener {@code 0.0.0.0_15443} with a TLS
 * inspector, one filter chain for the service's SNI passing bytes through to the one endpoint.
 *
 * <pre>
 * GatewayProcess SNI BACKEND_HOST:PORT WORKER_THREADS
 * </pre>
 *
 * Prints {@code listening <host>:<port>} once bound; exits when its standard input closes.
 */
public final class GatewayProcess {
  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private GatewayProcess() {}

  public static void main(String[] args) throws Exception {
    String sni = args[0];
    InetSocketAddress backend = SidecarProcess.hostPort(args[1]);
    int threads = Integer.parseInt(args[2]);
    EastWestGateway gateway =
        EastWestGateway.builder(new DirectConfigSource(config(sni, backend)))
            .listen(new InetSocketAddress("127.0.0.1", 0))
            .workerThreads(threads)
            .drainTimeout(Duration.ZERO)
            .start();
    InetSocketAddress bound = gateway.address();
    System.out.println(ChildProcess.LISTENING + bound.getHostString() + ":" + bound.getPort());
    System.out.flush();
    SidecarProcess.awaitEndOfInput(System.in);
    gateway.close();
  }

  static ProxyConfig config(String sni, InetSocketAddress backend) {
    Listener listener =
        Listener.newBuilder()
            .setName("0.0.0.0_15443")
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15443)))
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.tls_inspector")
                    .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
            .addFilterChains(
                FilterChain.newBuilder()
                    .setName(sni)
                    .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni))
                    .addFilters(
                        Filter.newBuilder()
                            .setName("envoy.filters.network.tcp_proxy")
                            .setTypedConfig(
                                Any.pack(
                                    TcpProxy.newBuilder()
                                        .setStatPrefix(sni)
                                        .setCluster(sni)
                                        .build()))))
            .build();
    Cluster cluster =
        Cluster.newBuilder()
            .setName(sni)
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(
                Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(sni))
            .setConnectTimeout(Durations.fromSeconds(1))
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
            .build();
    ClusterLoadAssignment endpoints =
        ClusterLoadAssignment.newBuilder()
            .setClusterName(sni)
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(
                        LbEndpoint.newBuilder()
                            .setHealthStatus(HealthStatus.HEALTHY)
                            .setEndpoint(
                                Endpoint.newBuilder()
                                    .setAddress(
                                        Address.newBuilder()
                                            .setSocketAddress(
                                                SocketAddress.newBuilder()
                                                    .setAddress(
                                                        backend.getAddress().getHostAddress())
                                                    .setPortValue(backend.getPort()))))))
            .build();
    return new ProxyConfig(
        Map.of(listener.getName(), listener),
        Map.of(),
        Map.of(sni, cluster),
        Map.of(sni, endpoints));
  }
}
