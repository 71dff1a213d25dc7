package dev.fedmesh.controller.ui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.Liveness;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.controller.traffic.TrafficScraper;
import dev.fedmesh.controller.xds.ProxyStatus;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The document the web UI draws: one JSON object with the mesh's topology (regions, clusters and
 * their state, zones, services with their endpoints), live traffic, every connected proxy's sync
 * state and the applied policies. Built from what the controller already holds, without I/O, so it
 * is the same for the first page load and every pushed update. The fields are documented in
 * docs/UI.md.
 */
public final class MeshView {
  static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

  /** Short names of the xDS types, as Envoy's and Istio's tools print them. */
  private static final Map<String, String> TYPES =
      Map.of(
          "type.googleapis.com/envoy.config.listener.v3.Listener", "LDS",
          "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "RDS",
          "type.googleapis.com/envoy.config.cluster.v3.Cluster", "CDS",
          "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "EDS",
          "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "SDS");

  /**
   * What the view is made of.
   *
   * @param replica the replica answering
   * @param storeSynced whether the replica has published what etcd holds
   * @param mesh the mesh as last published
   * @param agentsHere the clusters whose agents are connected to this replica
   * @param proxies the proxies connected to this replica
   * @param traffic what the proxies' metrics show
   * @param policies the policy listing of {@code GET /policies} (items with status), or null
   */
  public record Inputs(
      String replica,
      boolean storeSynced,
      MeshSnapshot mesh,
      Map<ClusterName, Instant> agentsHere,
      Map<String, ProxyStatus> proxies,
      TrafficScraper.Traffic traffic,
      JsonNode policies) {}

  private MeshView() {}

  public static ObjectNode build(Inputs in, Instant now) {
    ObjectNode root = JSON.createObjectNode();
    root.put("generatedAt", now.toString());
    root.put("replica", in.replica());
    root.put("etcdSynced", in.storeSynced());
    root.put("revision", in.mesh().revision());
    root.put("modelVersion", in.mesh().version());
    regionsAndClusters(root, in);
    services(root.putArray("services"), in.mesh());
    traffic(root.putObject("traffic"), in.traffic());
    proxies(root.putArray("proxies"), in.proxies());
    policies(root.putObject("policies"), in.policies());
    return root;
  }

  /** up while an agent holds the session; down (and why) once it has lapsed. */
  static String state(Liveness liveness) {
    return liveness == Liveness.CONNECTED ? "up" : "down";
  }

  /** What the mesh does with a cluster's endpoints: serves them, keeps them last, or not at all. */
  static String endpointState(Liveness liveness) {
    return switch (liveness) {
      case CONNECTED, GRACE -> "ready";
      case DEMOTED -> "demoted";
      case EXPIRED -> "expired";
    };
  }

  private static void regionsAndClusters(ObjectNode root, Inputs in) {
    MeshSnapshot mesh = in.mesh();
    Map<String, List<String>> regions = new TreeMap<>();
    ArrayNode clusters = root.putArray("clusters");
    Map<String, Integer> proxiesPerCluster = new TreeMap<>();
    in.proxies().values().forEach(p -> proxiesPerCluster.merge(p.cluster(), 1, Integer::sum));
    for (Map.Entry<ClusterName, ClusterState> entry : mesh.clusters().entrySet()) {
      ClusterName name = entry.getKey();
      ClusterState state = entry.getValue();
      String region = state.info().locality().region();
      regions.computeIfAbsent(region, r -> new ArrayList<>()).add(name.value());
      ObjectNode cluster = clusters.addObject();
      cluster.put("name", name.value());
      cluster.put("region", region);
      cluster.put("zone", state.info().locality().zone());
      cluster.put("network", state.info().network());
      cluster.put("state", state(state.liveness()));
      cluster.put("liveness", state.liveness().name());
      cluster.put("endpointState", endpointState(state.liveness()));
      cluster.put("since", state.since().toString());
      cluster.put("agentHere", in.agentsHere().containsKey(name));
      ArrayNode gateways = cluster.putArray("gateways");
      for (GatewayAddress gateway : state.info().gateways()) {
        gateways.add(gateway.address() + ":" + gateway.port());
      }
      cluster.put("proxies", proxiesPerCluster.getOrDefault(name.value(), 0));
      cluster.set("zones", zones(mesh, name));
    }
    ArrayNode regionNodes = root.putArray("regions");
    regions.forEach(
        (region, members) -> {
          ObjectNode node = regionNodes.addObject();
          node.put("name", region);
          ArrayNode list = node.putArray("clusters");
          members.forEach(list::add);
        });
  }

  /**
   * One service's endpoints in one zone: counts per health, and whether the service is exported.
   */
  private record ZoneService(int[] counts, boolean exported) {}

  /** A cluster's endpoints by zone, then by service: counts per health, export status. */
  private static ArrayNode zones(MeshSnapshot mesh, ClusterName cluster) {
    SortedMap<String, SortedMap<String, ZoneService>> byZone = new TreeMap<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> service :
        mesh.services().entrySet()) {
      ServiceEndpoints shard = service.getValue().get(cluster);
      if (shard == null) {
        continue;
      }
      for (Endpoint endpoint : shard.endpoints()) {
        byZone
            .computeIfAbsent(endpoint.locality().zone(), z -> new TreeMap<>())
            .computeIfAbsent(
                label(service.getKey()), s -> new ZoneService(new int[3], shard.exported()))
            .counts()[endpoint.health().ordinal()]++;
      }
    }
    ArrayNode zones = JSON.createArrayNode();
    byZone.forEach(
        (zone, services) -> {
          ObjectNode node = zones.addObject();
          node.put("name", zone);
          ArrayNode list = node.putArray("services");
          services.forEach(
              (service, counts) ->
                  health(
                      list.addObject().put("service", service).put("exported", counts.exported()),
                      counts.counts()));
        });
    return zones;
  }

  private static ObjectNode health(ObjectNode node, int[] counts) {
    node.put("healthy", counts[EndpointHealth.HEALTHY.ordinal()]);
    node.put("draining", counts[EndpointHealth.DRAINING.ordinal()]);
    node.put("unhealthy", counts[EndpointHealth.UNHEALTHY.ordinal()]);
    return node;
  }

  private static String label(ServiceKey key) {
    return key.name() + "." + key.namespace();
  }

  private static void services(ArrayNode services, MeshSnapshot mesh) {
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> entry :
        mesh.services().entrySet()) {
      ObjectNode service = services.addObject();
      service.put("name", entry.getKey().name());
      service.put("namespace", entry.getKey().namespace());
      service.put("host", entry.getKey().fqdn());
      ArrayNode where = service.putArray("clusters");
      for (ServiceEndpoints shard : entry.getValue().values()) {
        int[] counts = new int[3];
        shard.endpoints().forEach(e -> counts[e.health().ordinal()]++);
        ObjectNode node = where.addObject();
        node.put("cluster", shard.cluster().value());
        node.put("exported", shard.exported());
        node.put(
            "endpointState",
            mesh.cluster(shard.cluster()).map(c -> endpointState(c.liveness())).orElse("unknown"));
        health(node, counts);
      }
    }
  }

  private static void traffic(ObjectNode node, TrafficScraper.Traffic traffic) {
    node.put("scrapedAt", traffic.scrapedAt() == null ? null : traffic.scrapedAt().toString());
    node.put("windowSeconds", traffic.window().toMillis() / 1000.0);
    node.put("targets", traffic.targets());
    node.put("skipped", traffic.skipped());
    node.set("unreachable", JSON.valueToTree(traffic.unreachable()));
    node.set("edges", JSON.valueToTree(traffic.edges()));
    node.set("clusters", JSON.valueToTree(traffic.clusters()));
  }

  /** Proxies by cluster, then node id. */
  private static void proxies(ArrayNode list, Map<String, ProxyStatus> proxies) {
    List<ProxyStatus> sorted = new ArrayList<>(proxies.values());
    sorted.sort(
        java.util.Comparator.comparing(ProxyStatus::cluster).thenComparing(ProxyStatus::nodeId));
    for (ProxyStatus proxy : sorted) {
      ObjectNode node = list.addObject();
      node.put("id", proxy.nodeId());
      node.put("role", proxy.role());
      node.put("cluster", proxy.cluster());
      node.put("locality", proxy.locality());
      node.put("namespace", proxy.namespace());
      node.put("workload", proxy.role().equals("sidecar") ? proxy.workload() : proxy.nodeId());
      node.put("connectedAt", proxy.connectedAt().toString());
      ObjectNode types = node.putObject("types");
      String worst = "SYNCED";
      for (Map.Entry<String, ProxyStatus.TypeStatus> type :
          new TreeMap<>(proxy.types()).entrySet()) {
        ProxyStatus.TypeStatus status = type.getValue();
        ObjectNode t = types.putObject(TYPES.getOrDefault(type.getKey(), type.getKey()));
        t.put("state", status.state());
        t.put("sent", status.sentVersion());
        t.put("acked", status.ackedVersion());
        if (!status.nackedVersion().isEmpty()) {
          t.put("nacked", status.nackedVersion());
          t.put("error", status.nackError());
        }
        worst = worse(worst, status.state());
      }
      node.put("state", worst);
    }
  }

  private static final List<String> SEVERITY = List.of("SYNCED", "NOT SENT", "STALE", "NACKED");

  private static String worse(String a, String b) {
    return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
  }

  private static void policies(ObjectNode node, JsonNode listing) {
    ArrayNode items = node.putArray("items");
    ArrayNode invalid = node.putArray("invalid");
    if (listing == null) {
      node.put("available", false);
      return;
    }
    node.put("available", true);
    for (JsonNode item : listing.path("items")) {
      JsonNode document = item.path("document");
      ObjectNode out = items.addObject();
      out.put("kind", document.path("kind").asText());
      out.put("apiVersion", document.path("apiVersion").asText());
      out.put("namespace", document.path("metadata").path("namespace").asText(""));
      out.put("name", document.path("metadata").path("name").asText());
      out.put("resourceVersion", document.path("metadata").path("resourceVersion").asText());
      JsonNode status = item.path("status");
      out.put("inMesh", status.path("inMesh").asBoolean());
      out.put("proxiesSynced", status.path("proxiesSynced").asInt());
      out.put("proxies", status.path("proxies").asInt());
      out.set(
          "proxiesWaiting",
          status.path("proxiesWaiting").isArray()
              ? status.path("proxiesWaiting")
              : JSON.createArrayNode());
    }
    listing.path("invalid").forEach(invalid::add);
  }
}
