package dev.fedmesh.controller.configgen;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.DestinationRule.ClientTls;
import dev.fedmesh.model.policy.Hosts;
import dev.fedmesh.model.policy.MeshConfig;
import dev.fedmesh.model.policy.ServiceEntry;
import dev.fedmesh.model.policy.ServiceEntry.Location;
import dev.fedmesh.model.policy.ServiceEntry.PortProtocol;
import dev.fedmesh.model.policy.ServiceEntry.Resolution;
import dev.fedmesh.model.policy.ServiceEntry.WorkloadEntry;
import dev.fedmesh.model.policy.VirtualService.Destination;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * ServiceEntries as a proxy's resources. Each host and port (and subset of the host's
 * DestinationRule) is a cluster {@code outbound|<port>|<subset>|<host>}:
 *
 * <ul>
 *   <li>STATIC: EDS, like a mesh service's, over the entry's endpoints;
 *   <li>DNS: {@code STRICT_DNS} over the endpoints' names (or the host), every address a host;
 *   <li>DNS_ROUND_ROBIN: {@code LOGICAL_DNS}, the first address of the one name;
 *   <li>NONE: {@code ORIGINAL_DST}, where the application connected.
 * </ul>
 *
 * <p>MESH_EXTERNAL hosts get the application's bytes as sent, unless a DestinationRule asks for
 * SIMPLE ({@link TlsOrigination}) or ISTIO_MUTUAL; MESH_INTERNAL hosts get the mesh's mutual TLS
 * with the identities of {@code subjectAltNames} and the endpoints' service accounts, unless the
 * rule says DISABLE or SIMPLE.
 *
 * <p>A sidecar reaches every port through a virtual host {@code <host>:<port>} of the outbound
 * routes (CONNECT, and for HTTP ports the VirtualService's routes or the default route), and, when
 * intercepted, through {@code tcp_proxy} chains: TLS and HTTPS ports by SNI, TCP ports by the
 * entry's addresses (by port alone for NONE without addresses). HTTP needs no chain: it is routed
 * by Host. Proxyless gRPC clients get a listener for the GRPC and HTTP2 ports of STATIC and
 * DNS_ROUND_ROBIN entries, the cluster types gRPC implements.
 */
final class ServiceEntries {
  /**
   * Envoy's default re-resolution period, written out so that proxies need no default of theirs.
   */
  static final com.google.protobuf.Duration DNS_REFRESH = Durations.fromSeconds(5);

  private ServiceEntries() {}

  /** The resources of every ServiceEntry for {@code proxy}; none for gateways. */
  static XdsResources generate(MeshSnapshot mesh, ProxyContext proxy) {
    SortedMap<String, Listener> listeners = new TreeMap<>();
    SortedMap<String, RouteConfiguration> routes = new TreeMap<>();
    SortedMap<String, Cluster> clusters = new TreeMap<>();
    SortedMap<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    SortedMap<String, VirtualHost> virtualHosts = new TreeMap<>();
    SortedMap<String, FilterChain> chains = new TreeMap<>();
    if (proxy.role() != ProxyRole.SIDECAR && proxy.role() != ProxyRole.PROXYLESS_GRPC) {
      return new XdsResources(listeners, routes, clusters, endpoints, virtualHosts, chains);
    }
    String trustDomain = trustDomain(mesh, proxy);
    // Conflicts are refused on apply; should a store hold one, the first entry by id keeps it.
    Set<String> declared = new HashSet<>();
    // Envoy refuses two chains with one match: NONE entries' TCP ports without addresses (or with
    // the same ones) all pass through to where the application connected, so the first chain does.
    Set<String> matches = new HashSet<>();
    for (ServiceEntry entry : mesh.policies().serviceEntries()) {
      for (String host : entry.hosts()) {
        for (ServiceEntry.Port port : entry.ports()) {
          if (!declared.add(host + ":" + port.number())) {
            continue;
          }
          Optional<DestinationRule> rule = mesh.policies().destinationRuleFor(host);
          List<String> subsets = new ArrayList<>();
          subsets.add("");
          rule.ifPresent(r -> r.subsets().forEach(s -> subsets.add(s.name())));
          for (String subset : subsets) {
            String name = ResourceNames.outboundCluster(host, port.number(), subset);
            Map<String, String> labels =
                subset.isEmpty()
                    ? Map.of()
                    : rule.flatMap(r -> r.subset(subset))
                        .map(DestinationRule.Subset::labels)
                        .orElse(Map.of());
            DestinationPolicy policy = DestinationPolicy.of(rule, subset, port.number());
            ClusterLoadAssignment assignment =
                assignment(name, mesh, proxy, entry, host, port, labels, policy);
            clusters.put(
                name,
                cluster(mesh, proxy, entry, host, port, subset, policy, assignment, trustDomain));
            if (entry.resolution() == Resolution.STATIC) {
              endpoints.put(name, assignment);
            }
          }
          ServicePort servicePort = servicePort(port);
          String cluster = ResourceNames.outboundCluster(host, port.number(), "");
          String hostPort = host + ":" + port.number();
          if (proxy.role() == ProxyRole.SIDECAR) {
            virtualHosts.put(
                hostPort,
                SidecarOutbound.virtualHost(
                    hostPort,
                    domains(host, port.number()),
                    cluster,
                    port.protocol().isHttp()
                        ? HttpRoutes.routes(mesh, host, servicePort, proxy)
                        : List.of()));
            chain(mesh, entry, host, port, servicePort, cluster)
                .filter(c -> matches.add(c.getFilterChainMatch().toString()))
                .ifPresent(c -> chains.put(c.getName(), c));
          } else if (port.protocol() == PortProtocol.GRPC
              || port.protocol() == PortProtocol.HTTP2) {
            if (entry.resolution() == Resolution.STATIC
                || entry.resolution() == Resolution.DNS_ROUND_ROBIN) {
              listeners.put(hostPort, ConfigGenerator.apiListener(hostPort));
              List<String> domains = new ArrayList<>(domains(host, port.number()));
              if (!domains.contains(host)) {
                domains.add(host);
              }
              routes.put(
                  hostPort,
                  RouteConfiguration.newBuilder()
                      .setName(hostPort)
                      .addVirtualHosts(
                          VirtualHost.newBuilder()
                              .setName(hostPort)
                              .addAllDomains(domains)
                              .addAllRoutes(HttpRoutes.routes(mesh, host, servicePort, proxy)))
                      .build());
            }
          }
        }
      }
    }
    return new XdsResources(listeners, routes, clusters, endpoints, virtualHosts, chains);
  }

  /**
   * The cluster of a ServiceEntry host that {@code destination} names (the host itself, or a name a
   * wildcard host covers), on the destination's port, else on {@code selfPort} when the routes are
   * the host's own or the entry has several ports, else on the entry's one port.
   */
  static Optional<String> cluster(
      MeshSnapshot mesh, Destination destination, String self, int selfPort) {
    Optional<ServiceEntry> entry = mesh.policies().serviceEntryFor(destination.host());
    if (entry.isEmpty()) {
      return Optional.empty();
    }
    Optional<String> host =
        entry
            .get()
            .declared(destination.host())
            .or(() -> Hosts.written(destination.host()).flatMap(entry.get()::declared));
    if (host.isEmpty()) {
      return Optional.empty();
    }
    List<ServiceEntry.Port> ports = entry.get().ports();
    int port =
        destination.port().isPresent()
            ? destination.port().getAsInt()
            : host.get().equals(self) || destination.host().equals(self) || ports.size() != 1
                ? selfPort
                : ports.get(0).number();
    if (entry.get().port(port).isEmpty()) {
      return Optional.empty();
    }
    if (!destination.subset().isEmpty()
        && mesh.policies()
            .destinationRuleFor(host.get())
            .flatMap(rule -> rule.subset(destination.subset()))
            .isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(ResourceNames.outboundCluster(host.get(), port, destination.subset()));
  }

  /** {@code host:port}, and for HTTP's default port the host alone, as for mesh services. */
  private static List<String> domains(String host, int port) {
    return port == 80 ? List.of(host + ":" + port, host) : List.of(host + ":" + port);
  }

  private static ServicePort servicePort(ServiceEntry.Port port) {
    Protocol protocol =
        switch (port.protocol()) {
          case HTTP -> Protocol.HTTP;
          case HTTP2 -> Protocol.HTTP2;
          case GRPC -> Protocol.GRPC;
          case TCP -> Protocol.TCP;
          case TLS, HTTPS -> Protocol.TLS;
        };
    return new ServicePort(port.name(), port.number(), protocol);
  }

  private static String trustDomain(MeshSnapshot mesh, ProxyContext proxy) {
    try {
      return proxy.cluster().isEmpty()
          ? ""
          : mesh.cluster(ClusterName.of(proxy.cluster()))
              .map(state -> state.info().trustDomain())
              .orElse("");
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  private static Cluster cluster(
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceEntry entry,
      String host,
      ServiceEntry.Port port,
      String subset,
      DestinationPolicy policy,
      ClusterLoadAssignment assignment,
      String trustDomain) {
    String name = ResourceNames.outboundCluster(host, port.number(), subset);
    Cluster.Builder cluster = ConfigGenerator.outboundCluster(name);
    Optional<MeshConfig> meshConfig = mesh.policies().meshConfig();
    policy.applyTo(cluster, meshConfig);
    switch (entry.resolution()) {
      case STATIC -> {}
      case DNS, DNS_ROUND_ROBIN ->
          cluster
              .clearEdsClusterConfig()
              .setType(
                  entry.resolution() == Resolution.DNS
                      ? Cluster.DiscoveryType.STRICT_DNS
                      : Cluster.DiscoveryType.LOGICAL_DNS)
              .setDnsRefreshRate(DNS_REFRESH)
              // IPv4 first: most external names have it; v6 when a name has no v4 address.
              .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED)
              .setLoadAssignment(assignment);
      case NONE ->
          cluster
              .clearEdsClusterConfig()
              .clearOutlierDetection()
              .clearRingHashLbConfig()
              .clearMaglevLbConfig()
              .setType(Cluster.DiscoveryType.ORIGINAL_DST)
              .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
    }
    if (proxy.role() == ProxyRole.SIDECAR) {
      tls(entry, host, port, subset, policy, trustDomain).ifPresent(cluster::setTransportSocket);
      if (port.protocol() == PortProtocol.HTTP2 || port.protocol() == PortProtocol.GRPC) {
        SidecarOutbound.http2(cluster);
      }
    }
    return cluster.build();
  }

  /** The transport socket the host's location and DestinationRule ask for; none for plaintext. */
  private static Optional<TransportSocket> tls(
      ServiceEntry entry,
      String host,
      ServiceEntry.Port port,
      String subset,
      DestinationPolicy policy,
      String trustDomain) {
    Optional<ClientTls> tls = policy.tls();
    String mode =
        tls.map(ClientTls::mode)
            .orElse(entry.location() == Location.MESH_INTERNAL ? "ISTIO_MUTUAL" : "DISABLE");
    switch (mode) {
      case "ISTIO_MUTUAL" -> {
        SortedSet<String> identities = new TreeSet<>(entry.subjectAltNames());
        if (!trustDomain.isEmpty()) {
          for (WorkloadEntry endpoint : entry.endpoints()) {
            if (!endpoint.serviceAccount().isEmpty()) {
              identities.add(
                  "spiffe://"
                      + trustDomain
                      + "/ns/"
                      + entry.metadata().namespace()
                      + "/sa/"
                      + endpoint.serviceAccount());
            }
          }
        }
        return Optional.of(
            MeshTls.upstream(
                ResourceNames.gatewaySni(host, port.number(), subset), identities, trustDomain));
      }
      case "SIMPLE" -> {
        ClientTls simple = tls.get();
        boolean wildcard = host.startsWith("*.");
        String sni = !simple.sni().isEmpty() ? simple.sni() : wildcard ? "" : host;
        List<String> names =
            !simple.subjectAltNames().isEmpty()
                ? simple.subjectAltNames()
                : !entry.subjectAltNames().isEmpty()
                    ? entry.subjectAltNames()
                    : sni.isEmpty() ? List.of() : List.of(sni);
        String suffix = names.isEmpty() && wildcard ? host.substring(1) : "";
        List<String> alpn =
            switch (port.protocol()) {
              case HTTP -> List.of("http/1.1");
              case HTTP2, GRPC -> List.of("h2");
              default -> List.of();
            };
        return Optional.of(
            TlsOrigination.upstream(sni, names, suffix, simple.caCertificates(), alpn));
      }
      default -> {
        return Optional.empty();
      }
    }
  }

  /**
   * The endpoints of a STATIC cluster (its EDS resource) or a DNS cluster (its load assignment):
   * the entry's endpoints that carry the subset's labels, or for DNS without endpoints the host
   * itself, in priorities by the destination's locality rule. Empty for NONE.
   */
  private static ClusterLoadAssignment assignment(
      String name,
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceEntry entry,
      String host,
      ServiceEntry.Port port,
      Map<String, String> subsetLabels,
      DestinationPolicy policy) {
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(name);
    if (entry.resolution() == Resolution.NONE) {
      return assignment.build();
    }
    List<WorkloadEntry> members = new ArrayList<>();
    if (entry.endpoints().isEmpty()) {
      members.add(
          new WorkloadEntry(host, Map.of(), Map.of(), dev.fedmesh.model.Locality.UNKNOWN, 1, ""));
    }
    for (WorkloadEntry endpoint : entry.endpoints()) {
      if (subsetLabels.entrySet().stream()
          .allMatch(l -> l.getValue().equals(endpoint.labels().get(l.getKey())))) {
        members.add(endpoint);
      }
    }
    LocalityRule rule = policy.localityRule(mesh);
    SortedMap<Integer, SortedMap<String, LocalityLbEndpoints.Builder>> byLevel = new TreeMap<>();
    for (WorkloadEntry endpoint : members) {
      int level =
          rule.level(
              proxy, new LocalityRule.Place(endpoint.locality(), "", "", endpoint.labels()), false);
      LocalityLbEndpoints.Builder group =
          byLevel
              .computeIfAbsent(level, l -> new TreeMap<>())
              .computeIfAbsent(
                  endpoint.locality().toString(),
                  l ->
                      LocalityLbEndpoints.newBuilder()
                          .setLocality(
                              io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
                                  .setRegion(endpoint.locality().region())
                                  .setZone(endpoint.locality().zone())
                                  .setSubZone(endpoint.locality().subzone())));
      group.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress(endpoint.address())
                                      .setPortValue(ServiceEntry.targetPort(endpoint, port)))))
              .setLoadBalancingWeight(UInt32Value.of(endpoint.weight())));
    }
    // Envoy and gRPC need priorities 0..n with none skipped, and gRPC a weight per locality.
    int priority = 0;
    for (SortedMap<String, LocalityLbEndpoints.Builder> groups : byLevel.values()) {
      for (LocalityLbEndpoints.Builder group : groups.values()) {
        int weight =
            group.getLbEndpointsList().stream()
                .mapToInt(e -> e.getLoadBalancingWeight().getValue())
                .sum();
        assignment.addEndpoints(
            group.setPriority(priority).setLoadBalancingWeight(UInt32Value.of(weight)));
      }
      priority++;
    }
    return assignment.build();
  }

  /**
   * The outbound listener's chain for an intercepted connection to a non-HTTP port: TLS ports by
   * SNI (and the addresses, when given), TCP ports by the addresses, or by port alone for NONE. A
   * TCP port's connections follow the host's VirtualService TCP rule, as a mesh service's do.
   */
  private static Optional<FilterChain> chain(
      MeshSnapshot mesh,
      ServiceEntry entry,
      String host,
      ServiceEntry.Port port,
      ServicePort servicePort,
      String cluster) {
    if (port.protocol().isTls()) {
      return Optional.of(
          SidecarOutbound.chain(cluster, cluster, port.number(), entry.addresses(), List.of(host)));
    }
    if (port.protocol() != PortProtocol.TCP) {
      return Optional.empty();
    }
    if (entry.addresses().isEmpty() && entry.resolution() != Resolution.NONE) {
      return Optional.empty(); // refused on apply
    }
    String target = ConfigGenerator.tcpCluster(mesh, host, servicePort).orElse(cluster);
    return Optional.of(
        SidecarOutbound.chain(cluster, target, port.number(), entry.addresses(), List.of()));
  }
}
