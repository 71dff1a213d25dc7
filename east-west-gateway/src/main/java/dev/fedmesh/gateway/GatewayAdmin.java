package dev.fedmesh.gateway;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.proxy.xds.ProxyConfig;
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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The gateway's admin endpoints over HTTP (the JDK's server, one thread of its own):
 *
 * <ul>
 *   <li>{@code GET /healthz}: the process is up
 *   <li>{@code GET /ready}: 200 once a config with a listener is active, 503 before and while
 *       draining
 *   <li>{@code GET /metrics}: Prometheus text format
 *   <li>{@code GET /config_dump}: the active listeners, routes, clusters and endpoints as Envoy's
 *       {@code ConfigDump} JSON, so tools made for Envoy read it
 * </ul>
 */
final class GatewayAdmin {
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
                  .add(TcpProxy.getDescriptor())
                  .add(HttpConnectionManager.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(DownstreamTlsContext.getDescriptor())
                  .build());

  private final HttpServer server;
  private final ExecutorService executor;
  private final EastWestGateway gateway;

  GatewayAdmin(InetSocketAddress address, EastWestGateway gateway) throws IOException {
    this.gateway = gateway;
    this.server = HttpServer.create(address, 0);
    this.executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-admin");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
    server.createContext("/ready", this::ready);
    server.createContext("/metrics", this::metrics);
    server.createContext("/config_dump", this::configDump);
  }

  void start() {
    server.start();
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  void stop() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void ready(HttpExchange exchange) throws IOException {
    String state = gateway.readiness();
    respond(exchange, state.equals(EastWestGateway.READY) ? 200 : 503, "text/plain", state + "\n");
  }

  private void metrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    gateway.metrics().write(body);
    exchange.getResponseHeaders().set("Content-Type", GatewayMetrics.contentType());
    exchange.sendResponseHeaders(200, body.size());
    try (OutputStream out = exchange.getResponseBody()) {
      body.writeTo(out);
    }
  }

  private void configDump(HttpExchange exchange) throws IOException {
    try {
      respond(exchange, 200, "application/json", configDumpJson(gateway.activeConfig()) + "\n");
    } catch (InvalidProtocolBufferException e) {
      respond(exchange, 500, "text/plain", "cannot print the config: " + e.getMessage() + "\n");
    }
  }

  /** The config as Envoy's {@code /config_dump} prints it. */
  static String configDumpJson(ProxyConfig config) throws InvalidProtocolBufferException {
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

  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
