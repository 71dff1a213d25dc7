package dev.fedmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.TreeMap;

/**
 * The active config as Envoy's admin {@code /config_dump} JSON, so that tools made for Envoy (and
 * people used to it) read ours. Used by the sidecar's and the gateway's admin endpoints.
 */
public final class ConfigDumps {
  private static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(ListenersConfigDump.getDescriptor())
                  .add(ClustersConfigDump.getDescriptor())
                  .add(EndpointsConfigDump.getDescriptor())
                  .add(RoutesConfigDump.getDescriptor())
                  .add(Listener.getDescriptor())
                  .add(Cluster.getDescriptor())
                  .add(ClusterLoadAssignment.getDescriptor())
                  .add(RouteConfiguration.getDescriptor())
                  .add(TlsInspector.getDescriptor())
                  .add(
                      io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3
                          .HttpInspector.getDescriptor())
                  .add(TcpProxy.getDescriptor())
                  .add(HttpConnectionManager.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(DownstreamTlsContext.getDescriptor())
                  .add(HttpProtocolOptions.getDescriptor())
                  .build());

  private ConfigDumps() {}

  /** The config dump of {@code config}, every resource type in name order. */
  public static String json(ProxyConfig config) throws InvalidProtocolBufferException {
    ListenersConfigDump.Builder listeners = ListenersConfigDump.newBuilder();
    new TreeMap<>(config.listeners())
        .forEach(
            (name, listener) ->
                listeners.addDynamicListeners(
                    ListenersConfigDump.DynamicListener.newBuilder()
                        .setName(name)
                        .setActiveState(
                            ListenersConfigDump.DynamicListenerState.newBuilder()
                                .setListener(Any.pack(listener)))));
    RoutesConfigDump.Builder routes = RoutesConfigDump.newBuilder();
    new TreeMap<>(config.routes())
        .forEach(
            (name, route) ->
                routes.addDynamicRouteConfigs(
                    RoutesConfigDump.DynamicRouteConfig.newBuilder()
                        .setRouteConfig(Any.pack(route))));
    ClustersConfigDump.Builder clusters = ClustersConfigDump.newBuilder();
    new TreeMap<>(config.clusters())
        .forEach(
            (name, cluster) ->
                clusters.addDynamicActiveClusters(
                    ClustersConfigDump.DynamicCluster.newBuilder().setCluster(Any.pack(cluster))));
    EndpointsConfigDump.Builder endpoints = EndpointsConfigDump.newBuilder();
    new TreeMap<>(config.endpoints())
        .forEach(
            (name, assignment) ->
                endpoints.addDynamicEndpointConfigs(
                    EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
                        .setEndpointConfig(Any.pack(assignment))));
    ConfigDump dump =
        ConfigDump.newBuilder()
            .addConfigs(Any.pack(listeners.build()))
            .addConfigs(Any.pack(routes.build()))
            .addConfigs(Any.pack(clusters.build()))
            .addConfigs(Any.pack(endpoints.build()))
            .build();
    return JSON.print(dump);
  }
}
