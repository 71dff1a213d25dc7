package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.XdsNames;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.LocalityLbSetting;
import dev.fedmesh.model.policy.MeshConfig;
import dev.fedmesh.model.policy.VirtualService;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns the mesh into one proxy's Envoy v3 resources. A pure function of its inputs: no I/O, no
 * clock, the same snapshot and context always give equal protos, so tests build a snapshot in
 * memory and assert on the result.
 */
public final class ConfigGenerator {
  /** The router filter's name as Envoy and gRPC know it. */
  static final String ROUTER_FILTER = "envoy.filters.http.router";

  static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  private ConfigGenerator() {}

  /**
   * Every resource of {@code proxy}: each service's from {@link #generateService}, and the gateway
   * role's listener. The publisher reuses unchanged services' resources between pushes instead of
   * calling this.
   */
  public static XdsResources generate(MeshSnapshot mesh, ProxyContext proxy) {
    SortedMap<String, Listener> listeners = new TreeMap<>();
    SortedMap<String, RouteConfiguration> routes = new TreeMap<>();
    SortedMap<String, Cluster> clusters = new TreeMap<>();
    SortedMap<String, ClusterLoadAssignment> endpoints = new TreeMap<>();

    if (proxy.role() == ProxyRole.GATEWAY) {
      GatewayConfig.generate(mesh, proxy, listeners, clusters, endpoints);
      return new XdsResources(listeners, routes, clusters, endpoints);
    }
    SortedMap<String, VirtualHost> virtualHosts = new TreeMap<>();
    SortedMap<String, FilterChain> tcpChains = new TreeMap<>();
    List<Map<String, List<String>>> dnsNames = new ArrayList<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      XdsResources resources = generateService(mesh, proxy, service.getKey(), service.getValue());
      dnsNames.add(resources.dnsNames());
      listeners.putAll(resources.listeners());
      routes.putAll(resources.routes());
      clusters.putAll(resources.clusters());
      endpoints.putAll(resources.endpoints());
      virtualHosts.putAll(resources.virtualHosts());
      tcpChains.putAll(resources.tcpChains());
    }
    XdsResources entries = serviceEntries(mesh, proxy);
    listeners.putAll(entries.listeners());
    routes.putAll(entries.routes());
    clusters.putAll(entries.clusters());
    endpoints.putAll(entries.endpoints());
    virtualHosts.putAll(entries.virtualHosts());
    tcpChains.putAll(entries.tcpChains());
    dnsNames.add(entries.dnsNames());
    if (proxy.role() == ProxyRole.SIDECAR) {
      if (proxy.dnsCapture()) {
        listeners.put(XdsNames.DNS_LISTENER, sidecarDnsListener(dnsNames));
      }
      listeners.put(SidecarOutbound.LISTENER, sidecarOutboundListener(mesh, tcpChains.values()));
      routes.put(SidecarOutbound.ROUTES, sidecarOutboundRoutes(virtualHosts.values()));
      Cluster fallback = sidecarFallbackCluster(mesh);
      clusters.put(fallback.getName(), fallback);
      sidecarInboundListener(mesh, proxy).ifPresent(l -> listeners.put(l.getName(), l));
    }
    return new XdsResources(listeners, routes, clusters, endpoints);
  }

  /**
   * The resources of the mesh's ServiceEntries for {@code proxy} (see {@link ServiceEntries}), with
   * virtual hosts and chains that join the services' in the sidecar's outbound route configuration
   * and listener. Made of the policies, and of the services their routes name.
   */
  public static XdsResources serviceEntries(MeshSnapshot mesh, ProxyContext proxy) {
    XdsResources entries = ServiceEntries.generate(mesh, proxy);
    if (proxy.role() != ProxyRole.SIDECAR || !proxy.dnsCapture()) {
      return entries;
    }
    return new XdsResources(
        entries.listeners(),
        entries.routes(),
        entries.clusters(),
        entries.endpoints(),
        entries.virtualHosts(),
        entries.tcpChains(),
        SidecarDns.entryNames(mesh));
  }

  /**
   * A DNS-capturing sidecar's DNS listener over the names of its services and ServiceEntries (see
   * {@link SidecarDns}), in the order given: where two claim one name, the first keeps it.
   */
  public static Listener sidecarDnsListener(
      Collection<? extends Map<String, List<String>>> dnsNames) {
    return SidecarDns.listener(dnsNames);
  }

  /**
   * A sidecar's outbound listener over its services' TCP filter chains, with the default chain of
   * the mesh's outbound traffic policy (MeshConfig {@code outboundTrafficPolicy.mode}: ALLOW_ANY,
   * the default, passes unknown destinations through; REGISTRY_ONLY refuses them).
   */
  public static Listener sidecarOutboundListener(
      MeshSnapshot mesh, Collection<FilterChain> tcpChains) {
    return SidecarOutbound.listener(tcpChains, outboundTrafficPolicy(mesh));
  }

  private static SidecarOutbound.OutboundTrafficPolicy outboundTrafficPolicy(MeshSnapshot mesh) {
    return mesh.policies()
        .meshConfig()
        .flatMap(MeshConfig::outboundTrafficPolicy)
        .filter("REGISTRY_ONLY"::equals)
        .map(mode -> SidecarOutbound.OutboundTrafficPolicy.REGISTRY_ONLY)
        .orElse(SidecarOutbound.OutboundTrafficPolicy.ALLOW_ANY);
  }

  /**
   * A sidecar workload's inbound policy ({@code virtualInbound}: mTLS modes and authorization),
   * when a PeerAuthentication or AuthorizationPolicy applies to it.
   */
  public static Optional<Listener> sidecarInboundListener(MeshSnapshot mesh, ProxyContext proxy) {
    return InboundPolicy.listener(mesh.policies(), proxy, MeshTls.downstream());
  }

  /** The cluster the outbound listener's default chain names under the mesh's policy. */
  public static Cluster sidecarFallbackCluster(MeshSnapshot mesh) {
    return SidecarOutbound.fallbackCluster(outboundTrafficPolicy(mesh));
  }

  /** A sidecar's outbound route configuration over its services' virtual hosts. */
  public static RouteConfiguration sidecarOutboundRoutes(Collection<VirtualHost> virtualHosts) {
    return SidecarOutbound.routes(virtualHosts);
  }

  /**
   * The SPIFFE IDs of a service's endpoints, in every cluster, each under its cluster's trust
   * domain: {@code spiffe://<td>/ns/<service namespace>/sa/<endpoint service account>}. Endpoints
   * that name no account add none.
   */
  static java.util.SortedSet<String> identities(
      MeshSnapshot mesh,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards,
      String fallbackTrustDomain) {
    java.util.SortedSet<String> identities = new java.util.TreeSet<>();
    for (ServiceEndpoints shard : shards.values()) {
      String trustDomain =
          mesh.cluster(shard.cluster())
              .map(state -> state.info().trustDomain())
              .filter(domain -> !domain.isEmpty())
              .orElse(fallbackTrustDomain);
      if (trustDomain.isEmpty()) {
        continue;
      }
      for (Endpoint endpoint : shard.endpoints()) {
        if (!endpoint.serviceAccount().isEmpty()) {
          identities.add(
              "spiffe://"
                  + trustDomain
                  + "/ns/"
                  + key.namespace()
                  + "/sa/"
                  + endpoint.serviceAccount());
        }
      }
    }
    return identities;
  }

  /** The resources of one service for one proxy: a function of the service's own shards. */
  public static XdsResources generateService(
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards) {
    SortedMap<String, Listener> listeners = new TreeMap<>();
    SortedMap<String, RouteConfiguration> routes = new TreeMap<>();
    SortedMap<String, Cluster> clusters = new TreeMap<>();
    SortedMap<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    ClusterName own = clusterNameOrNull(proxy.cluster());
    String trustDomain =
        own == null ? "" : mesh.cluster(own).map(state -> state.info().trustDomain()).orElse("");
    SortedMap<String, VirtualHost> virtualHosts = new TreeMap<>();
    SortedMap<String, FilterChain> tcpChains = new TreeMap<>();
    java.util.SortedSet<String> identities = identities(mesh, key, shards, trustDomain);
    List<String> serviceAddresses =
        proxy.role() == ProxyRole.SIDECAR
            ? SidecarDns.serviceAddresses(mesh, proxy, key, shards)
            : List.of();
    boolean clusterset =
        proxy.role() == ProxyRole.SIDECAR && SidecarDns.exportedAnywhere(mesh, shards);
    Optional<DestinationRule> rule = mesh.policies().destinationRuleFor(key.fqdn());
    Optional<MeshConfig> meshConfig = mesh.policies().meshConfig();
    List<String> subsets = new ArrayList<>();
    subsets.add("");
    rule.ifPresent(r -> r.subsets().forEach(subset -> subsets.add(subset.name())));
    for (ServicePort port : ports(shards.values())) {
      for (String subset : subsets) {
        String clusterName = ResourceNames.outboundCluster(key, port.port(), subset);
        DestinationPolicy policy = DestinationPolicy.of(rule, subset, port.port());
        Cluster.Builder cluster = outboundCluster(clusterName);
        policy.applyTo(cluster, meshConfig);
        if (proxy.role() == ProxyRole.SIDECAR) {
          if (!policy.plaintext()) {
            cluster.setTransportSocket(
                MeshTls.upstream(
                    ResourceNames.gatewaySni(key, port.port(), subset), identities, trustDomain));
          }
          if (port.protocol() == Protocol.HTTP2 || port.protocol() == Protocol.GRPC) {
            SidecarOutbound.http2(cluster);
          }
        }
        Map<String, String> labels =
            subset.isEmpty()
                ? Map.of()
                : rule.flatMap(r -> r.subset(subset))
                    .map(DestinationRule.Subset::labels)
                    .orElse(Map.of());
        clusters.put(clusterName, cluster.build());
        endpoints.put(
            clusterName,
            loadAssignment(
                clusterName,
                mesh,
                proxy,
                shards.values(),
                port,
                policy.localityRule(mesh),
                labels));
      }
      String clusterName = ResourceNames.outboundCluster(key, port.port(), "");
      String hostPort = ResourceNames.hostPort(key, port.port());
      if (proxy.role() == ProxyRole.SIDECAR) {
        virtualHosts.put(
            hostPort,
            SidecarOutbound.virtualHost(
                hostPort,
                sidecarDomains(key, port.port(), clusterset, serviceAddresses),
                clusterName,
                HttpRoutes.routes(mesh, key, port, proxy)));
        if (port.protocol() == Protocol.TCP) {
          String target = tcpCluster(mesh, key.fqdn(), port).orElse(clusterName);
          tcpChains.putAll(
              SidecarOutbound.tcpChains(target, directTargets(mesh, proxy, shards, port)));
          if (!serviceAddresses.isEmpty()) {
            // Connections to the service's own address (its virtual address or local cluster
            // IPs) on the service port, as a ClusterIP is matched.
            tcpChains.put(
                clusterName + "|vip",
                SidecarOutbound.chain(
                    clusterName + "|vip", target, port.port(), serviceAddresses, List.of()));
          }
        }
      }
      if (proxy.role() == ProxyRole.PROXYLESS_GRPC) {
        listeners.put(hostPort, apiListener(hostPort));
        routes.put(
            hostPort,
            RouteConfiguration.newBuilder()
                .setName(hostPort)
                .addVirtualHosts(
                    VirtualHost.newBuilder()
                        .setName(hostPort)
                        .addAllDomains(domains(key, port.port(), true))
                        .addAllRoutes(HttpRoutes.routes(mesh, key, port, proxy)))
                .build());
      }
    }
    SortedMap<String, List<String>> dnsNames =
        proxy.role() == ProxyRole.SIDECAR && proxy.dnsCapture()
            ? SidecarDns.serviceNames(mesh, proxy, key, shards)
            : new TreeMap<>();
    return new XdsResources(
        listeners, routes, clusters, endpoints, virtualHosts, tcpChains, dnsNames);
  }

  /**
   * A sidecar's names for a service port: {@link #domains}, the MCS name {@code
   * <svc>.<ns>.svc.clusterset.local} when some cluster exports the service, and the addresses the
   * application may have resolved it to (Host headers of clients that call an address).
   */
  static List<String> sidecarDomains(
      ServiceKey service, int port, boolean clusterset, List<String> addresses) {
    List<String> domains = new ArrayList<>(domains(service, port, false));
    List<String> hosts = new ArrayList<>();
    if (clusterset) {
      hosts.add(service.name() + "." + service.namespace() + SidecarDns.CLUSTERSET_SUFFIX);
    }
    for (String address : addresses) {
      hosts.add(address.contains(":") ? "[" + address + "]" : address);
    }
    for (String host : hosts) {
      domains.add(host + ":" + port);
      if (port == 80) {
        domains.add(host);
      }
    }
    return domains;
  }

  /**
   * The addresses a sidecar's application connects to for a service port it reaches directly (its
   * own network's endpoints), by target port: what an intercepted connection's original destination
   * is matched against.
   */
  private static SortedMap<Integer, java.util.SortedSet<String>> directTargets(
      MeshSnapshot mesh,
      ProxyContext proxy,
      SortedMap<ClusterName, ServiceEndpoints> shards,
      ServicePort port) {
    SortedMap<Integer, java.util.SortedSet<String>> targets = new TreeMap<>();
    for (ServiceEndpoints shard : shards.values()) {
      if (!reachesDirectly(proxy, mesh.cluster(shard.cluster()).orElse(null))) {
        continue;
      }
      for (Endpoint endpoint : shard.endpoints()) {
        targets
            .computeIfAbsent(
                ServiceEndpoints.targetPort(endpoint, port), p -> new java.util.TreeSet<>())
            .add(endpoint.address());
      }
    }
    return targets;
  }

  private static ClusterName clusterNameOrNull(String name) {
    try {
      return name.isEmpty() ? null : ClusterName.of(name);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The union of the ports every cluster declares, by port number; where clusters disagree on a
   * port's name or protocol, the first cluster by name wins.
   */
  static List<ServicePort> ports(Iterable<ServiceEndpoints> shards) {
    SortedMap<Integer, ServicePort> byNumber = new TreeMap<>();
    for (ServiceEndpoints shard : shards) {
      for (ServicePort port : shard.ports()) {
        byNumber.putIfAbsent(port.port(), port);
      }
    }
    return List.copyOf(byNumber.values());
  }

  static Listener apiListener(String hostPort) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(hostPort)
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(hostPort))
            .addHttpFilters(faultFilter())
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(ROUTER_FILTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName(hostPort)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager)))
        .build();
  }

  /**
   * The cluster a VirtualService's TCP rule sends a TCP port's connections to, when one applies and
   * its destination exists.
   */
  static Optional<String> tcpCluster(MeshSnapshot mesh, String host, ServicePort port) {
    Optional<VirtualService> vs = mesh.policies().virtualServiceFor(host);
    if (vs.isEmpty()) {
      return Optional.empty();
    }
    for (VirtualService.TcpRoute route : vs.get().tcp()) {
      if (!route.ports().isEmpty() && !route.ports().contains(port.port())) {
        continue;
      }
      if (route.route().isEmpty()) {
        return Optional.empty();
      }
      return HttpRoutes.cluster(mesh, route.route().get(0), host, port.port());
    }
    return Optional.empty();
  }

  /**
   * Envoy's fault filter with no fault of its own: routes that a VirtualService gives a fault carry
   * it as per-route config, which Envoy (and gRPC) apply only when the filter is in the chain.
   */
  static HttpFilter faultFilter() {
    return HttpFilter.newBuilder()
        .setName(HttpRoutes.FAULT_FILTER)
        .setTypedConfig(
            Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault
                    .getDefaultInstance()))
        .build();
  }

  /**
   * Every name a client in the service's namespace may use for it, with the port and, for gRPC
   * clients (whose target may omit it) or HTTP's default port, without it.
   */
  static List<String> domains(ServiceKey service, int port, boolean withoutPort) {
    Set<String> hosts = new LinkedHashSet<>();
    hosts.add(service.fqdn());
    hosts.add(service.name() + "." + service.namespace() + ".svc");
    hosts.add(service.name() + "." + service.namespace());
    hosts.add(service.name());
    List<String> domains = new ArrayList<>();
    for (String host : hosts) {
      domains.add(host + ":" + port);
      if (withoutPort || port == 80) {
        domains.add(host);
      }
    }
    return domains;
  }

  /** An EDS cluster over ADS with the mesh's default resilience settings. */
  static Cluster.Builder outboundCluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(name))
        .setConnectTimeout(Durations.fromSeconds(1))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .setOutlierDetection(TrafficDefaults.outlierDetection())
        .setCircuitBreakers(TrafficDefaults.circuitBreakers());
  }

  /** One weighted entry in a locality, before priorities are assigned. */
  private record Candidate(
      int level, Locality locality, String address, int port, int weight, HealthStatus health) {}

  static ClusterLoadAssignment loadAssignment(
      String clusterName,
      MeshSnapshot mesh,
      ProxyContext proxy,
      Iterable<ServiceEndpoints> shards,
      ServicePort port) {
    return loadAssignment(
        clusterName, mesh, proxy, shards, port, LocalityRule.failover(mesh.failover()), Map.of());
  }

  /**
   * The endpoints of one cluster for one proxy, in priorities by {@code rule}.
   *
   * @param subsetLabels labels an endpoint must all have to belong (a subset's); empty for all
   */
  static ClusterLoadAssignment loadAssignment(
      String clusterName,
      MeshSnapshot mesh,
      ProxyContext proxy,
      Iterable<ServiceEndpoints> shards,
      ServicePort port,
      LocalityRule rule,
      Map<String, String> subsetLabels) {
    List<Candidate> candidates = new ArrayList<>();
    for (ServiceEndpoints shard : shards) {
      ClusterState cluster = mesh.clusters().get(shard.cluster());
      if (cluster != null && !cluster.liveness().served()) {
        continue;
      }
      if (reachesDirectly(proxy, cluster)) {
        addDirect(candidates, proxy, cluster, shard, port, rule, subsetLabels);
      } else if (exported(mesh, shard)) {
        addThroughGateways(candidates, proxy, cluster, shard, rule, subsetLabels);
      }
    }

    // Envoy and gRPC need priorities 0..n with none skipped: renumber the levels in use.
    Map<Integer, Integer> priorityOfLevel = new TreeMap<>();
    candidates.stream()
        .map(Candidate::level)
        .sorted()
        .distinct()
        .forEach(level -> priorityOfLevel.put(level, priorityOfLevel.size()));

    SortedMap<String, LocalityLbEndpoints.Builder> groups = new TreeMap<>();
    candidates.sort(
        Comparator.comparingInt(Candidate::level)
            .thenComparing(c -> c.locality().toString())
            .thenComparing(Candidate::address)
            .thenComparingInt(Candidate::port));
    for (Candidate candidate : candidates) {
      int priority = priorityOfLevel.get(candidate.level());
      LocalityLbEndpoints.Builder group =
          groups.computeIfAbsent(
              String.format("%03d|%s", priority, candidate.locality()),
              ignored ->
                  LocalityLbEndpoints.newBuilder()
                      .setLocality(locality(candidate.locality()))
                      .setPriority(priority));
      group.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                      .setAddress(socketAddress(candidate.address(), candidate.port())))
              .setHealthStatus(candidate.health())
              .setLoadBalancingWeight(UInt32Value.of(candidate.weight())));
    }

    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(clusterName);
    Optional<LocalityLbSetting.Distribute> distribute = rule.distributeFor(proxy.locality());
    Map<Integer, Integer> weightOfPattern = new TreeMap<>();
    if (distribute.isPresent()) {
      for (LocalityLbEndpoints.Builder group : groups.values()) {
        int pattern = LocalityRule.pattern(distribute.get(), fromProto(group.getLocality()));
        weightOfPattern.merge(pattern, Math.max(1, healthyWeight(group)), Integer::sum);
      }
    }
    for (LocalityLbEndpoints.Builder group : groups.values()) {
      int weight = healthyWeight(group);
      if (distribute.isPresent() && group.getPriority() == 0) {
        // Istio's distribute: each pattern's percent, shared among its localities by their weight;
        // localities no pattern names take no traffic and are left out.
        int pattern = LocalityRule.pattern(distribute.get(), fromProto(group.getLocality()));
        int percent = pattern < 0 ? 0 : List.copyOf(distribute.get().to().values()).get(pattern);
        if (percent == 0) {
          continue;
        }
        weight =
            (int)
                Math.max(
                    1,
                    Math.round(
                        percent * 1000.0 * Math.max(1, weight) / weightOfPattern.get(pattern)));
      }
      // gRPC ignores localities without a weight; a locality whose endpoints are all unhealthy
      // still needs one so that it is kept, and its health spills traffic to the next priority.
      group.setLoadBalancingWeight(UInt32Value.of(Math.max(1, weight)));
      assignment.addEndpoints(group);
    }
    return renumbered(assignment);
  }

  /** After localities were left out, priorities must again be 0..n with none skipped. */
  private static ClusterLoadAssignment renumbered(ClusterLoadAssignment.Builder assignment) {
    Map<Integer, Integer> priorities = new TreeMap<>();
    assignment.getEndpointsList().stream()
        .map(LocalityLbEndpoints::getPriority)
        .sorted()
        .distinct()
        .forEach(priority -> priorities.put(priority, priorities.size()));
    for (int i = 0; i < assignment.getEndpointsCount(); i++) {
      LocalityLbEndpoints.Builder group = assignment.getEndpointsBuilder(i);
      group.setPriority(priorities.get(group.getPriority()));
    }
    return assignment.build();
  }

  private static int healthyWeight(LocalityLbEndpoints.Builder group) {
    return group.getLbEndpointsList().stream()
        .filter(e -> e.getHealthStatus() == HealthStatus.HEALTHY)
        .mapToInt(e -> e.getLoadBalancingWeight().getValue())
        .sum();
  }

  private static Locality fromProto(io.envoyproxy.envoy.config.core.v3.Locality locality) {
    return new Locality(locality.getRegion(), locality.getZone(), locality.getSubZone());
  }

  /** The labels every one of {@code endpoints} carries with the same value. */
  private static Map<String, String> sharedLabels(List<Endpoint> endpoints) {
    Map<String, String> shared = new java.util.HashMap<>(endpoints.get(0).labels());
    for (Endpoint endpoint : endpoints) {
      shared.entrySet().removeIf(e -> !e.getValue().equals(endpoint.labels().get(e.getKey())));
    }
    return shared;
  }

  /** Whether an endpoint carries every label of a subset. */
  static boolean inSubset(Endpoint endpoint, Map<String, String> subsetLabels) {
    for (Map.Entry<String, String> label : subsetLabels.entrySet()) {
      if (!label.getValue().equals(endpoint.labels().get(label.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static boolean reachesDirectly(ProxyContext proxy, ClusterState cluster) {
    return proxy.network().isEmpty()
        || cluster == null
        || cluster.info().network().equals(proxy.network());
  }

  private static void addDirect(
      List<Candidate> candidates,
      ProxyContext proxy,
      ClusterState cluster,
      ServiceEndpoints shard,
      ServicePort port,
      LocalityRule rule,
      Map<String, String> subsetLabels) {
    Locality fallback = cluster == null ? Locality.UNKNOWN : cluster.info().locality();
    String network = cluster == null ? "" : cluster.info().network();
    for (Endpoint endpoint : shard.endpoints()) {
      if (!inSubset(endpoint, subsetLabels)) {
        continue;
      }
      Locality locality = endpoint.locality().region().isEmpty() ? fallback : endpoint.locality();
      candidates.add(
          new Candidate(
              rule.level(
                  proxy,
                  new LocalityRule.Place(
                      locality, shard.cluster().value(), network, endpoint.labels()),
                  demoted(cluster)),
              locality,
              endpoint.address(),
              ServiceEndpoints.targetPort(endpoint, port),
              endpoint.weight(),
              health(endpoint.health())));
    }
  }

  /**
   * Whether a shard's endpoints may be reached from other networks through its cluster's east-west
   * gateways: its agent saw a ServiceExport in that cluster, or a ServiceExport policy exports the
   * service in every cluster. The callers' side and the gateway's side ask this one question.
   */
  public static boolean exported(MeshSnapshot mesh, ServiceEndpoints shard) {
    return shard.exported() || mesh.policies().exports(shard.service());
  }

  /**
   * Endpoints on another network are reached through their cluster's east-west gateways: one entry
   * per gateway, weighted by the cluster's healthy endpoint weight so that load spreads across
   * clusters as it would across pods. Only exported services cross networks ({@link #exported}).
   */
  private static void addThroughGateways(
      List<Candidate> candidates,
      ProxyContext proxy,
      ClusterState cluster,
      ServiceEndpoints shard,
      LocalityRule rule,
      Map<String, String> subsetLabels) {
    if (cluster.info().gateways().isEmpty()) {
      return;
    }
    List<Endpoint> members =
        shard.endpoints().stream().filter(e -> inSubset(e, subsetLabels)).toList();
    if (members.isEmpty()) {
      return;
    }
    int healthyWeight =
        members.stream()
            .filter(e -> e.health() == EndpointHealth.HEALTHY)
            .mapToInt(Endpoint::weight)
            .sum();
    Locality locality = cluster.info().locality();
    for (GatewayAddress gateway : cluster.info().gateways()) {
      candidates.add(
          new Candidate(
              rule.level(
                  proxy,
                  new LocalityRule.Place(
                      locality,
                      shard.cluster().value(),
                      cluster.info().network(),
                      sharedLabels(members)),
                  demoted(cluster)),
              locality,
              gateway.address(),
              gateway.port(),
              Math.max(1, healthyWeight),
              healthyWeight > 0 ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY));
    }
  }

  private static boolean demoted(ClusterState cluster) {
    return cluster != null && cluster.liveness() == Liveness.DEMOTED;
  }

  private static HealthStatus health(EndpointHealth health) {
    return switch (health) {
      case HEALTHY -> HealthStatus.HEALTHY;
      case DRAINING -> HealthStatus.DRAINING;
      case UNHEALTHY -> HealthStatus.UNHEALTHY;
    };
  }

  private static io.envoyproxy.envoy.config.core.v3.Locality locality(Locality locality) {
    return io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
        .setRegion(locality.region())
        .setZone(locality.zone())
        .setSubZone(locality.subzone())
        .build();
  }

  private static Address socketAddress(String address, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(address).setPortValue(port))
        .build();
  }
}
