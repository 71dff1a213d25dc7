package dev.fedmesh.controller;

import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.policy.Policy;
import dev.fedmesh.model.policy.PolicyDocuments;
import dev.fedmesh.model.policy.PolicySet;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** Builds {@link MeshSnapshot}s in memory for tests: clusters, then services in them. */
public final class MeshFixtures {
  public static final ServiceKey ECHO = ServiceKey.of("default", "echo");
  public static final ServicePort GRPC_7070 = new ServicePort("grpc", 7070, Protocol.GRPC);

  private static final Instant SINCE = Instant.parse("2026-01-01T00:00:00Z");

  private final TreeMap<ClusterName, ClusterState> clusters = new TreeMap<>();
  private final Map<String, List<String>> failover = new LinkedHashMap<>();
  private final List<Policy> policies = new java.util.ArrayList<>();
  private final TreeMap<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> services =
      new TreeMap<>();
  private final TreeMap<String, String> virtualAddresses = new TreeMap<>();

  public static MeshFixtures mesh() {
    return new MeshFixtures();
  }

  public MeshFixtures cluster(
      String name, String network, Locality locality, GatewayAddress... gateways) {
    ClusterInfo info =
        new ClusterInfo(
            ClusterName.of(name), network, locality, List.of(gateways), "fedmesh.local", "test");
    clusters.put(info.name(), new ClusterState(info, Liveness.CONNECTED, SINCE));
    return this;
  }

  public MeshFixtures liveness(String name, Liveness liveness) {
    ClusterState state = clusters.get(ClusterName.of(name));
    clusters.put(state.info().name(), new ClusterState(state.info(), liveness, SINCE));
    return this;
  }

  /** Adds the policies of YAML documents; fails on any error in them. */
  public MeshFixtures policies(String yaml) {
    PolicyDocuments.Result result = PolicyDocuments.read("fixture", yaml);
    if (result.hasErrors()) {
      throw new IllegalArgumentException("fixture policies: " + result.errors());
    }
    policies.addAll(result.policies());
    return this;
  }

  /** Adds {@code cluster}'s shard of a service with endpoints as given (labels, accounts). */
  public MeshFixtures shard(
      String cluster,
      ServiceKey service,
      List<ServicePort> ports,
      boolean exported,
      Endpoint... endpoints) {
    services
        .computeIfAbsent(service, key -> new TreeMap<>())
        .put(
            ClusterName.of(cluster),
            new ServiceEndpoints(
                ClusterName.of(cluster), service, ports, exported, List.of(endpoints)));
    return this;
  }

  /** Gives {@code cluster}'s shard of {@code service} (added before) these cluster IPs. */
  public MeshFixtures clusterIps(String cluster, ServiceKey service, String... ips) {
    ServiceEndpoints shard = services.get(service).get(ClusterName.of(cluster));
    services
        .get(service)
        .put(
            shard.cluster(),
            new ServiceEndpoints(
                shard.cluster(),
                service,
                shard.ports(),
                shard.exported(),
                shard.endpoints(),
                List.of(ips)));
    return this;
  }

  /** Stores a virtual address for {@code host}, as the allocator would. */
  public MeshFixtures virtualAddress(String host, String address) {
    virtualAddresses.put(host, address);
    return this;
  }

  public MeshFixtures failover(String region, String... order) {
    failover.put(region, List.of(order));
    return this;
  }

  /** Adds {@code cluster}'s shard of a service: one endpoint per address, on {@code targetPort}. */
  public MeshFixtures service(
      String cluster,
      ServiceKey service,
      ServicePort port,
      boolean exported,
      Endpoint... endpoints) {
    services
        .computeIfAbsent(service, key -> new TreeMap<>())
        .put(
            ClusterName.of(cluster),
            new ServiceEndpoints(
                ClusterName.of(cluster), service, List.of(port), exported, List.of(endpoints)));
    return this;
  }

  public static Endpoint endpoint(String address, int port, Locality locality) {
    return Endpoint.of(address, Map.of("grpc", port), locality);
  }

  public static Endpoint endpoint(
      String address, int port, Locality locality, EndpointHealth health) {
    return new Endpoint(
        address, Map.of("grpc", port), locality, health, Map.of(), "default", 1, "");
  }

  /**
   * An endpoints file (as {@code FileEndpointSource} reads) announcing {@code default/echo} on grpc
   * port 7070 with one endpoint per address.
   */
  public static String echoEndpointsFile(String... addresses) {
    StringBuilder yaml =
        new StringBuilder(
            "services:\n  - name: echo\n    ports: [{name: grpc, port: 7070, protocol: grpc}]\n"
                + "    endpoints:\n");
    for (String address : addresses) {
      yaml.append("      - {address: ").append(address).append("}\n");
    }
    return yaml.toString();
  }

  public MeshSnapshot build() {
    return new MeshSnapshot(
        1,
        1,
        clusters,
        services,
        new FailoverOrder(failover),
        PolicySet.of(policies),
        0,
        virtualAddresses);
  }
}
