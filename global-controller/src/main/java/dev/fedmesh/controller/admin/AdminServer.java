package dev.fedmesh.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.controller.ControllerMetrics;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.controller.configgen.ConfigGenerator;
import dev.fedmesh.controller.configgen.ProxyContext;
import dev.fedmesh.controller.configgen.ProxyRole;
import dev.fedmesh.controller.configgen.XdsResources;
import dev.fedmesh.controller.model.ClusterState;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.controller.traffic.TrafficScraper;
import dev.fedmesh.controller.ui.MeshView;
import dev.fedmesh.controller.ui.UiRoutes;
import dev.fedmesh.controller.xds.ProxyStatus;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The controller's admin API over HTTP, for the CLI and for people with curl.
 *
 * <ul>
 *   <li>{@code GET /healthz}: the process is up
 *   <li>{@code GET /ready}: proxies are served what etcd holds (503 otherwise)
 *   <li>{@code GET /status}: (admin token) clusters, services and where they run, connected proxies
 *       (JSON)
 *   <li>{@code GET /proxies}: (admin token) every connected proxy's xDS stream, per type (JSON)
 *   <li>{@code GET /metrics}: Prometheus metrics
 *   <li>{@code GET /analyze}: (admin token) findings about policies and services, each with a code
 *       (JSON)
 *   <li>{@code GET|POST /policies}: (admin token; writes need one configured) policies, see {@link
 *       PolicyApi}
 *   <li>{@code GET /ui/}: the web UI; its data under {@code /ui/api/} (admin token), see {@link
 *       UiRoutes}
 *   <li>{@code GET /debug/resources (admin token)?role=&cluster=&network=&region=&zone=}: the xDS
 *       resources a proxy of that context is served (Envoy's JSON form)
 * </ul>
 */
public final class AdminServer {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(SerializationFeature.INDENT_OUTPUT);
  private static final JsonFormat.Printer PROTO_JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(HttpConnectionManager.getDescriptor())
                  .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor())
                  .build());

  /** Istio's stats port: every sidecar serves its Prometheus metrics there, on its pod address. */
  public static final int SIDECAR_STATS_PORT = 15090;

  /** Threads serving requests; the UI's event streams may hold {@link UiRoutes#MAX_STREAMS}. */
  private static final int THREADS = UiRoutes.MAX_STREAMS + 4;

  private final HttpServer server;
  private final ExecutorService executor;
  private final GlobalController controller;
  private final TrafficScraper traffic;
  private final UiRoutes ui;
  private final PolicyApi policies;
  private volatile CachedPolicies cachedPolicies = new CachedPolicies(Long.MIN_VALUE, null);

  /** The policy listing the UI shows, read from etcd at most every {@link #POLICY_REFRESH}. */
  private record CachedPolicies(long readAtNanos, JsonNode listing) {}

  private static final java.time.Duration POLICY_REFRESH = java.time.Duration.ofSeconds(2);

  public AdminServer(InetSocketAddress address, GlobalController controller) throws IOException {
    this.controller = controller;
    this.server =
        controller.config().tls().isPresent()
            ? https(address, controller.config().tls().get())
            : HttpServer.create(address, 0);
    this.executor =
        Executors.newFixedThreadPool(
            THREADS, dev.fedmesh.model.DaemonThreads.numbered("controller-admin"));
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
    server.createContext("/ready", this::ready);
    server.createContext("/status", authorized(exchange -> json(exchange, status())));
    server.createContext("/debug/resources", authorized(this::resources));
    server.createContext(
        "/proxies", authorized(exchange -> json(exchange, controller.xds().proxies())));
    server.createContext("/metrics", this::metrics);
    server.createContext(
        "/analyze",
        authorized(
            exchange ->
                json(
                    exchange,
                    java.util.Map.of(
                        "findings",
                        dev.fedmesh.controller.analysis.MeshAnalysis.findings(
                            controller.mesh(),
                            controller.virtualAddresses().unallocated(),
                            controller.virtualAddresses().range().cidr())))));
    this.policies = new PolicyApi(controller);
    this.traffic = new TrafficScraper(this::trafficTargets, TrafficScraper.Settings.DEFAULT);
    this.ui = new UiRoutes(this::view);
    ui.register(server, this::authorized);
    server.createContext(
        "/policies",
        authorized(
            exchange -> {
              String path = exchange.getRequestURI().getPath();
              String method = exchange.getRequestMethod();
              PolicyApi.Answer answer;
              try {
                if (path.equals("/policies") && method.equals("GET")) {
                  answer = policies.list(query(exchange));
                } else if (!writesAllowed()) {
                  answer = forbidden();
                } else if (path.equals("/policies") && method.equals("POST")) {
                  answer = policies.apply(exchange);
                } else if (path.equals("/policies/delete") && method.equals("POST")) {
                  answer = policies.delete(exchange);
                } else {
                  respond(
                      exchange,
                      404,
                      "text/plain",
                      method
                          + " "
                          + path
                          + ": no such endpoint (expected: GET /policies, POST"
                          + " /policies, POST /policies/delete)\n");
                  return;
                }
              } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                answer =
                    new PolicyApi.Answer(
                        400,
                        JSON.createObjectNode()
                            .set(
                                "errors",
                                JSON.createArrayNode()
                                    .add(
                                        "request body: not JSON ("
                                            + e.getOriginalMessage()
                                            + ")")));
              } catch (IOException e) {
                answer =
                    new PolicyApi.Answer(
                        503,
                        JSON.createObjectNode()
                            .set(
                                "errors",
                                JSON.createArrayNode().add(String.valueOf(e.getMessage()))));
              }
              byte[] bytes = JSON.writeValueAsBytes(answer.body());
              exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
              exchange.sendResponseHeaders(answer.status(), bytes.length);
              try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
              }
            }));
  }

  /** Writes change every proxy's config: never without an admin credential. */
  private boolean writesAllowed() {
    return controller.config().adminToken().isPresent();
  }

  private static PolicyApi.Answer forbidden() {
    return new PolicyApi.Answer(
        403,
        JSON.createObjectNode()
            .set(
                "errors",
                JSON.createArrayNode()
                    .add(
                        "policy writes: refused (expected: a controller started with an admin"
                            + " token, --admin-token-file, and that token presented)")));
  }

  /**
   * The admin API over TLS when the control plane runs TLS: the controller presents its own
   * certificate (rotating with it); callers authenticate with the admin token, not a certificate.
   */
  private static HttpServer https(InetSocketAddress address, dev.fedmesh.trust.SvidFiles.Source tls)
      throws IOException {
    com.sun.net.httpserver.HttpsServer server =
        com.sun.net.httpserver.HttpsServer.create(address, 0);
    try {
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
      context.init(
          new javax.net.ssl.KeyManager[] {
            dev.fedmesh.trust.SpiffeTls.keyManager(() -> Optional.of(tls.credential()))
          },
          null,
          null);
      server.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(context));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("admin API: TLS 1.3 is not available: " + e.getMessage(), e);
    }
    return server;
  }

  public void start() {
    server.start();
  }

  /**
   * Requires {@code Authorization: Bearer <admin token>} when the controller has one: the status
   * and debug documents name every cluster, pod address and proxy of the mesh.
   */
  HttpHandler authorized(HttpHandler handler) {
    Optional<byte[]> expected =
        controller
            .config()
            .adminToken()
            .map(token -> ("Bearer " + token).getBytes(StandardCharsets.UTF_8));
    if (expected.isEmpty()) {
      return handler;
    }
    return exchange -> {
      String header = exchange.getRequestHeaders().getFirst("Authorization");
      byte[] presented = header == null ? new byte[0] : header.getBytes(StandardCharsets.UTF_8);
      if (!MessageDigest.isEqual(expected.get(), presented)) {
        respond(
            exchange,
            401,
            "text/plain",
            "authorization: "
                + (header == null ? "missing" : "wrong token")
                + " (expected: Bearer <admin token>; 'fedmesh lab up' writes it to"
                + " .fedmesh-lab/admin-token)\n");
        return;
      }
      handler.handle(exchange);
    };
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  public void stop() {
    ui.close();
    traffic.close();
    server.stop(0);
    executor.shutdownNow();
  }

  /** Every connected sidecar that announced its address: its stats port there. */
  private List<TrafficScraper.Target> trafficTargets() {
    List<TrafficScraper.Target> targets = new ArrayList<>();
    for (ProxyStatus proxy : controller.xds().proxies().values()) {
      if (proxy.role().equals(dev.fedmesh.model.NodeMetadata.ROLE_SIDECAR)
          && !proxy.addresses().isEmpty()) {
        String host = proxy.addresses().get(0);
        targets.add(
            new TrafficScraper.Target(
                proxy.nodeId(),
                proxy.cluster(),
                java.net.URI.create(
                    "http://"
                        + (host.contains(":") ? "[" + host + "]" : host)
                        + ":"
                        + SIDECAR_STATS_PORT
                        + "/stats/prometheus")));
      }
    }
    return targets;
  }

  /** The last view built and when (nanos): open pages share it instead of each building one. */
  private record CachedView(long builtAtNanos, JsonNode view) {}

  private volatile CachedView cachedView = new CachedView(Long.MIN_VALUE, null);

  /**
   * The UI's document, at most half a push interval old: every open event stream asks for it each
   * second, and one build serves them all.
   */
  private JsonNode view() {
    long now = System.nanoTime();
    CachedView cached = cachedView;
    if (cached.view() != null
        && now - cached.builtAtNanos() < UiRoutes.PUSH_INTERVAL.toNanos() / 2) {
      return cached.view();
    }
    JsonNode fresh = buildView();
    cachedView = new CachedView(now, fresh);
    return fresh;
  }

  private JsonNode buildView() {
    return MeshView.build(
        new MeshView.Inputs(
            controller.config().replicaId(),
            controller.storeSynced(),
            controller.mesh(),
            controller.agents().snapshot(),
            controller.xds().proxies(),
            traffic.current(),
            policyListing()),
        java.time.Instant.now());
  }

  private JsonNode policyListing() {
    CachedPolicies cached = cachedPolicies;
    long now = System.nanoTime();
    if (cached.listing() != null && now - cached.readAtNanos() < POLICY_REFRESH.toNanos()) {
      return cached.listing();
    }
    try {
      PolicyApi.Answer answer = policies.list(Map.of());
      JsonNode listing = answer.status() == 200 ? answer.body() : null;
      cachedPolicies = new CachedPolicies(now, listing);
      return listing;
    } catch (IOException | RuntimeException e) {
      return cached.listing(); // etcd away: show what was last read
    }
  }

  private void metrics(HttpExchange exchange) throws IOException {
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    controller.metrics().write(body);
    exchange.getResponseHeaders().set("Content-Type", ControllerMetrics.contentType());
    exchange.sendResponseHeaders(200, body.size());
    try (OutputStream out = exchange.getResponseBody()) {
      body.writeTo(out);
    }
  }

  private void ready(HttpExchange exchange) throws IOException {
    boolean ready = controller.storeSynced();
    respond(
        exchange,
        ready ? 200 : 503,
        "text/plain",
        ready
            ? "ready\n"
            : "not ready: the model has not published what etcd holds"
                + (controller.meshLoaded() ? " (serving the last model)" : " (xDS refused)")
                + "\n");
  }

  private Map<String, Object> status() {
    MeshSnapshot mesh = controller.mesh();
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("replica", controller.config().replicaId());
    status.put("etcdSynced", controller.storeSynced());
    status.put("servingXds", controller.meshLoaded());
    status.put("revision", mesh.revision());
    status.put("modelVersion", mesh.version());
    List<Map<String, Object>> clusters = new ArrayList<>();
    for (Map.Entry<ClusterName, ClusterState> entry : mesh.clusters().entrySet()) {
      ClusterState state = entry.getValue();
      Map<String, Object> cluster = new LinkedHashMap<>();
      cluster.put("name", entry.getKey().value());
      cluster.put("connected", state.connected());
      cluster.put("liveness", state.liveness().name());
      cluster.put("since", state.since());
      cluster.put("network", state.info().network());
      cluster.put("locality", state.info().locality().toString());
      cluster.put("trustDomain", state.info().trustDomain());
      cluster.put("gateways", state.info().gateways());
      cluster.put("endpoints", mesh.endpointCount(entry.getKey()));
      clusters.add(cluster);
    }
    status.put("clusters", clusters);
    List<Map<String, Object>> services = new ArrayList<>();
    for (Map.Entry<ServiceKey, SortedMap<ClusterName, ServiceEndpoints>> entry :
        mesh.services().entrySet()) {
      Map<String, Object> service = new LinkedHashMap<>();
      service.put("name", entry.getKey().fqdn());
      Map<String, Object> where = new LinkedHashMap<>();
      boolean exported = false;
      for (ServiceEndpoints shard : entry.getValue().values()) {
        long healthy =
            shard.endpoints().stream().filter(e -> e.health() == EndpointHealth.HEALTHY).count();
        boolean shardExported = ConfigGenerator.exported(mesh, shard);
        exported |= shardExported;
        where.put(
            shard.cluster().value(),
            Map.of(
                "endpoints",
                shard.endpoints().size(),
                "healthy",
                healthy,
                "exported",
                shardExported,
                "clusterIps",
                shard.clusterIps()));
      }
      service.put("clusters", where);
      service.put("virtualAddress", mesh.virtualAddress(entry.getKey().fqdn()).orElse(""));
      // The clusters that reach an exported service without a Service of their own: they import
      // it, and its names resolve there to its virtual address.
      List<String> importedBy = new ArrayList<>();
      if (exported) {
        for (ClusterName cluster : mesh.clusters().keySet()) {
          if (!entry.getValue().containsKey(cluster)) {
            importedBy.add(cluster.value());
          }
        }
      }
      service.put("importedBy", importedBy);
      services.add(service);
    }
    status.put("services", services);
    status.put(
        "virtualAddresses",
        Map.of(
            "range", controller.virtualAddresses().range().cidr(),
            "allocated", mesh.virtualAddresses().size(),
            "unallocated", List.copyOf(controller.virtualAddresses().unallocated())));
    status.put("connectedProxies", controller.xds().connectedProxies());
    status.put("connectedAgents", controller.agents().snapshot());
    status.put("refused", controller.agents().refusals());
    return status;
  }

  private void resources(HttpExchange exchange) throws IOException {
    Map<String, String> query = query(exchange);
    ProxyContext context;
    try {
      String roleName = query.getOrDefault("role", "grpc");
      ProxyRole role =
          ProxyRole.fromMetadata(roleName)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "role: '" + roleName + "' (expected: grpc, sidecar or gateway)"));
      context =
          new ProxyContext(
              role,
              query.getOrDefault("cluster", ""),
              query.getOrDefault("network", ""),
              Locality.of(query.getOrDefault("region", ""), query.getOrDefault("zone", "")));
    } catch (IllegalArgumentException e) {
      respond(exchange, 400, "text/plain", e.getMessage() + "\n");
      return;
    }
    XdsResources resources = controller.xds().resourcesFor(context);
    StringBuilder body = new StringBuilder("{\n");
    appendAll(body, "listeners", resources.listeners().values());
    body.append(",\n");
    appendAll(body, "routes", resources.routes().values());
    body.append(",\n");
    appendAll(body, "clusters", resources.clusters().values());
    body.append(",\n");
    appendAll(body, "endpoints", resources.endpoints().values());
    body.append("\n}\n");
    respond(exchange, 200, "application/json", body.toString());
  }

  private static <T extends Message> void appendAll(
      StringBuilder body, String name, Iterable<T> messages) throws InvalidProtocolBufferException {
    body.append("\"").append(name).append("\": [");
    boolean first = true;
    for (T message : messages) {
      body.append(first ? "\n" : ",\n").append(PROTO_JSON.print(message));
      first = false;
    }
    body.append("]");
  }

  private static Map<String, String> query(HttpExchange exchange) {
    Map<String, String> result = new HashMap<>();
    String raw = exchange.getRequestURI().getRawQuery();
    if (raw == null) {
      return result;
    }
    for (String pair : raw.split("&")) {
      int equals = pair.indexOf('=');
      if (equals > 0) {
        result.put(
            URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
      }
    }
    return result;
  }

  private static void json(HttpExchange exchange, Object value) throws IOException {
    respond(exchange, 200, "application/json", JSON.writeValueAsString(value) + "\n");
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
