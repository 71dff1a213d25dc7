package dev.fedmesh.benchmarks.load;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The benchmark's "policy" configs: access log on both sides, RBAC on the callee's. */
final class PolicyConfig {
  private PolicyConfig() {}

  private static AccessLog fileLog(Path file) {
    return AccessLog.newBuilder()
        .setName("envoy.access_loggers.file")
        .setTypedConfig(Any.pack(FileAccessLog.newBuilder().setPath(file.toString()).build()))
        .build();
  }

  /** The caller's config with an access log in its connection manager. */
  static ProxyConfig withAccessLog(ProxyConfig config, Path file) throws Exception {
    Map<String, Listener> listeners = new HashMap<>(config.listeners());
    listeners.replaceAll(
        (name, listener) -> {
          Listener.Builder builder = listener.toBuilder();
          for (FilterChain.Builder chain : builder.getFilterChainsBuilderList()) {
            for (Filter.Builder filter : chain.getFiltersBuilderList()) {
              if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
                try {
                  HttpConnectionManager manager =
                      filter.getTypedConfig().unpack(HttpConnectionManager.class);
                  filter.setTypedConfig(
                      Any.pack(manager.toBuilder().addAccessLog(fileLog(file)).build()));
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                  throw new IllegalStateException(e);
                }
              }
            }
          }
          return builder.build();
        });
    return new ProxyConfig(listeners, config.routes(), config.clusters(), config.endpoints());
  }

  /** The callee's inbound policy: mTLS only, DENY /admin, ALLOW only {@code caller}. */
  static ProxyConfig inbound(int port, String caller, Path file) {
    HttpFilter deny =
        rbac(
            "deny",
            RBAC.Action.DENY,
            "no-admin",
            Policy.newBuilder()
                .addPermissions(
                    Permission.newBuilder()
                        .setUrlPath(
                            PathMatcher.newBuilder()
                                .setPath(StringMatcher.newBuilder().setPrefix("/admin"))))
                .addPrincipals(Principal.newBuilder().setAny(true))
                .build());
    HttpFilter allow =
        rbac(
            "allow",
            RBAC.Action.ALLOW,
            "caller",
            Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setAny(true))
                .addPrincipals(
                    Principal.newBuilder()
                        .setAuthenticated(
                            Principal.Authenticated.newBuilder()
                                .setPrincipalName(StringMatcher.newBuilder().setExact(caller))))
                .build());
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("inbound_" + port)
            .setRouteConfig(RouteConfiguration.newBuilder().setName("inbound|" + port + "||"))
            .addAccessLog(fileLog(file))
            .addHttpFilters(deny)
            .addHttpFilters(allow)
            .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router"))
            .build();
    Listener listener =
        Listener.newBuilder()
            .setName(dev.fedmesh.model.XdsNames.VIRTUAL_INBOUND)
            .addFilterChains(
                FilterChain.newBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder()
                            .setDestinationPort(UInt32Value.of(port))
                            .setTransportProtocol("tls"))
                    .setTransportSocket(
                        TransportSocket.newBuilder()
                            .setName("envoy.transport_sockets.tls")
                            .setTypedConfig(
                                Any.pack(
                                    DownstreamTlsContext.newBuilder()
                                        .setRequireClientCertificate(BoolValue.of(true))
                                        .build())))
                    .addFilters(
                        Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(Any.pack(manager))))
            .build();
    return new ProxyConfig(
        Map.of(dev.fedmesh.model.XdsNames.VIRTUAL_INBOUND, listener), Map.of(), Map.of(), Map.of());
  }

  private static HttpFilter rbac(String name, RBAC.Action action, String policy, Policy rules) {
    return HttpFilter.newBuilder()
        .setName(name)
        .setTypedConfig(
            Any.pack(
                io.envoyproxy
                    .envoy
                    .extensions
                    .filters
                    .http
                    .rbac
                    .v3
                    .RBAC
                    .newBuilder()
                    .setRules(RBAC.newBuilder().setAction(action).putPolicies(policy, rules))
                    .build()))
        .build();
  }
}
