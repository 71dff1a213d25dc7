package dev.fedmesh.proxy.sidecar;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import dev.fedmesh.proxy.xds.ConfigDumps;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The sidecar's admin endpoints, as Envoy's (bind them to localhost):
 *
 * <ul>
 *   <li>{@code /ready}: 200 {@code LIVE} once config and certificate are in, 503 with the reason
 *   <li>{@code /config_dump}: the active xDS config as Envoy's ConfigDump JSON
 *   <li>{@code /clusters}: every host of every cluster with priority, locality, health, outlier
 *       ejection and active requests, one line each in Envoy's {@code cluster::host::field::value}
 *       form
 *   <li>{@code /stats/prometheus}: the traffic metrics (Istio's standard metrics and fedmesh's)
 *   <li>{@code /stats}: the same, one {@code name{labels}: value} per line, as Envoy's plain {@code
 *       /stats}
 *   <li>{@code /logging}: the loggers' levels; {@code POST /logging?level=debug} sets the root's,
 *       {@code POST /logging?dev.fedmesh.proxy=debug} one logger's
 *   <li>{@code /dns}: the DNS listener as JSON: whether it serves and where, the names it answers
 *       with their addresses, and where other names go
 * </ul>
 */
final class ProxyAdmin implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService executor;
  private final Sidecar sidecar;

  private ProxyAdmin(HttpServer server, ExecutorService executor, Sidecar sidecar) {
    this.server = server;
    this.executor = executor;
    this.sidecar = sidecar;
  }

  static ProxyAdmin start(InetSocketAddress address, Sidecar sidecar) throws IOException {
    HttpServer server = HttpServer.create(address, 16);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread =
                  new Thread(runnable, "sidecar-admin-" + sidecar.bootstrap().node().id());
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    ProxyAdmin admin = new ProxyAdmin(server, executor, sidecar);
    server.createContext("/ready", admin::ready);
    server.createContext("/config_dump", admin::configDump);
    server.createContext("/clusters", admin::clusters);
    server.createContext("/stats/prometheus", admin::metrics);
    server.createContext("/stats", admin::stats);
    server.createContext("/logging", admin::logging);
    server.createContext("/dns", admin::dns);
    server.start();
    return admin;
  }

  /** Istio's stats port: {@code /stats/prometheus} alone, for scrapers that should see no more. */
  static ProxyAdmin startStats(InetSocketAddress address, Sidecar sidecar) throws IOException {
    HttpServer server = HttpServer.create(address, 64);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "sidecar-stats");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    ProxyAdmin stats = new ProxyAdmin(server, executor, sidecar);
    server.createContext("/stats/prometheus", stats::metrics);
    server.start();
    return stats;
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  private void ready(HttpExchange exchange) throws IOException {
    var reason = sidecar.notReadyReason();
    respond(
        exchange,
        reason.isEmpty() ? 200 : 503,
        "text/plain",
        reason.map(r -> "NOT READY: " + r).orElse("LIVE") + "\n");
  }

  private void configDump(HttpExchange exchange) throws IOException {
    String dump;
    try {
      dump = ConfigDumps.json(sidecar.config());
    } catch (IOException | RuntimeException e) {
      // Say what could not be printed rather than close the connection without a reply.
      respond(exchange, 500, "text/plain; charset=utf-8", "config_dump: " + e.getMessage() + "\n");
      return;
    }
    respond(exchange, 200, "application/json", dump);
  }

  private void clusters(HttpExchange exchange) throws IOException {
    StringBuilder out = new StringBuilder();
    Map<String, UpstreamCluster> clusters = new TreeMap<>(sidecar.proxy().clusters().clusters());
    clusters.forEach(
        (name, cluster) -> {
          var breaker = cluster.circuitBreaker();
          out.append(name)
              .append("::active_requests::")
              .append(breaker.activeRequests())
              .append('\n');
          for (UpstreamHost host : cluster.hosts()) {
            String prefix = name + "::" + host + "::";
            String health =
                host.ejected()
                    ? "/failed_outlier_check"
                    : host.healthyByEds() ? "healthy" : "/" + host.health().name().toLowerCase();
            out.append(prefix).append("priority::").append(host.priority()).append('\n');
            out.append(prefix).append("region::").append(host.locality().getRegion()).append('\n');
            out.append(prefix).append("zone::").append(host.locality().getZone()).append('\n');
            out.append(prefix).append("weight::").append(host.weight()).append('\n');
            out.append(prefix).append("health_flags::").append(health).append('\n');
            out.append(prefix).append("rq_active::").append(host.activeRequests()).append('\n');
            out.append(prefix).append("ejections::").append(host.totalEjections()).append('\n');
          }
        });
    respond(exchange, 200, "text/plain", out.toString());
  }

  private void metrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, sidecar.proxy().stats().registry().scrape());
    respond(
        exchange,
        200,
        PrometheusTextFormatWriter.CONTENT_TYPE,
        out.toString(StandardCharsets.UTF_8));
  }

  private void stats(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestURI().getPath().equals("/stats")) {
      respond(exchange, 404, "text/plain", "no such admin page\n");
      return;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, sidecar.proxy().stats().registry().scrape());
    StringBuilder plain = new StringBuilder();
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        int space = line.lastIndexOf(' ');
        plain.append(line, 0, space).append(": ").append(line.substring(space + 1)).append('\n');
      }
    }
    respond(exchange, 200, "text/plain; charset=utf-8", plain.toString());
  }

  private void dns(HttpExchange exchange) throws IOException {
    respond(
        exchange,
        200,
        "application/json",
        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(sidecar.dns().status()) + "\n");
  }

  private void logging(HttpExchange exchange) throws IOException {
    if (!LogLevels.available()) {
      respond(exchange, 501, "text/plain", "logging: logback is not the logging backend\n");
      return;
    }
    String query = exchange.getRequestURI().getRawQuery();
    if (query != null && !query.isEmpty()) {
      if (!exchange.getRequestMethod().equals("POST")) {
        respond(exchange, 405, "text/plain", "logging: changing a level takes a POST\n");
        return;
      }
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          respond(exchange, 400, "text/plain", "logging: '" + pair + "' (expected: name=level)\n");
          return;
        }
        try {
          LogLevels.set(
              java.net.URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
              java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
          respond(exchange, 400, "text/plain", "logging: " + e.getMessage() + "\n");
          return;
        }
      }
    }
    StringBuilder out = new StringBuilder();
    LogLevels.levels()
        .forEach((name, level) -> out.append(name).append(": ").append(level).append('\n'));
    respond(exchange, 200, "text/plain", out.toString());
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

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
