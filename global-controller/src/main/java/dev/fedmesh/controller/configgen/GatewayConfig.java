package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The east-west gateway's config: one listener on {@value #PORT} that reads the TLS SNI without
 * terminating TLS and passes the stream to a local endpoint of the service the SNI names. Only
 * exported services of the gateway's own cluster get a filter chain, so an SNI for anything else
 * matches nothing and Envoy closes the connection.
 */
final class GatewayConfig {
  /** Istio's port for cross-network traffic. */
  static final int PORT = 15443;

  static final String LISTENER = "0.0.0.0_" + PORT;

  private GatewayConfig() {}

  static void generate(
      MeshSnapshot mesh,
      ProxyContext gateway,
      Map<String, Listener> listeners,
      Map<String, Cluster> clusters,
      Map<String, ClusterLoadAssignment> endpoints) {
    Optional<ClusterName> own = clusterName(gateway.cluster());
    if (own.isEmpty()) {
      return;
    }
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(LISTENER)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(PORT)))
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.tls_inspector")
                    .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
    for (Map.Entry<ServiceKey, java.util.SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      ServiceEndpoints shard = service.getValue().get(own.get());
      if (shard == null || !ConfigGenerator.exported(mesh, shard)) {
        continue;
      }
      // Callers name a subset in the SNI; the gateway sends it to that subset's local endpoints.
      java.util.Map<String, java.util.Map<String, String>> subsets = new java.util.TreeMap<>();
      subsets.put("", java.util.Map.of());
      mesh.policies()
          .destinationRuleFor(service.getKey().fqdn())
          .ifPresent(rule -> rule.subsets().forEach(s -> subsets.put(s.name(), s.labels())));
      for (ServicePort port : shard.ports()) {
        for (java.util.Map.Entry<String, java.util.Map<String, String>> subset :
            subsets.entrySet()) {
          addChain(
              mesh,
              gateway,
              listener,
              clusters,
              endpoints,
              service.getKey(),
              shard,
              port,
              subset.getKey(),
              subset.getValue());
        }
      }
    }
    listeners.put(LISTENER, listener.build());
  }

  private static void addChain(
      MeshSnapshot mesh,
      ProxyContext gateway,
      Listener.Builder listener,
      Map<String, Cluster> clusters,
      Map<String, ClusterLoadAssignment> endpoints,
      ServiceKey service,
      ServiceEndpoints shard,
      ServicePort port,
      String subset,
      Map<String, String> labels) {
    String sni = ResourceNames.gatewaySni(service, port.port(), subset);
    clusters.put(sni, ConfigGenerator.outboundCluster(sni).build());
    endpoints.put(
        sni,
        ConfigGenerator.loadAssignment(
            sni,
            mesh,
            gateway,
            List.of(shard),
            port,
            LocalityRule.failover(mesh.failover()),
            labels));
    listener.addFilterChains(
        FilterChain.newBuilder()
            .setName(sni)
            .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni))
            .addFilters(
                Filter.newBuilder()
                    .setName("envoy.filters.network.tcp_proxy")
                    .setTypedConfig(
                        Any.pack(
                            TcpProxy.newBuilder().setStatPrefix(sni).setCluster(sni).build()))));
  }

  private static Optional<ClusterName> clusterName(String name) {
    try {
      return name.isEmpty() ? Optional.empty() : Optional.of(ClusterName.of(name));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
