package dev.fedmesh.lab.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The demo app of the lab (the retail example): each instance answers JSON naming its service,
 * version, cluster, zone and pod, and, when it calls another service, that service's answer under
 * {@code upstream}. Calls leave through the pod's own sidecar, as {@code HTTP_PROXY} would send
 * them in the local lab, or straight to the service's name where the pod's traffic is intercepted
 * (on Kubernetes, {@code fedmesh demo-app}), so the mesh decides where they land.
 */
public final class DemoApp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService executor;
  private final ObjectNode identity;
  private final String calls;
  private final HttpClient client;

  DemoApp(
      InetSocketAddress listen,
      String service,
      String version,
      String cluster,
      String zone,
      String pod,
      String calls,
      InetSocketAddress sidecarOutbound)
      throws IOException {
    this(
        listen,
        service,
        version,
        cluster,
        zone,
        pod,
        calls,
        java.util.Optional.of(sidecarOutbound));
  }

  /**
   * An instance serving on {@code listen}; with {@code calls} (a service of the demo namespace, or
   * empty) it calls that service on each request, through {@code sidecarOutbound} as an HTTP proxy
   * when given, else directly (the pod's traffic is intercepted).
   */
  public DemoApp(
      InetSocketAddress listen,
      String service,
      String version,
      String cluster,
      String zone,
      String pod,
      String calls,
      java.util.Optional<InetSocketAddress> sidecarOutbound)
      throws IOException {
    this.identity = JSON.createObjectNode();
    identity.put("service", service);
    identity.put("version", version);
    identity.put("cluster", cluster);
    identity.put("zone", zone);
    identity.put("pod", pod);
    this.calls = calls;
    HttpClient.Builder client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2));
    sidecarOutbound.ifPresent(outbound -> client.proxy(ProxySelector.of(outbound)));
    this.client = client.build();
    this.executor =
        Executors.newFixedThreadPool(
            4,
            runnable -> {
              Thread thread = new Thread(runnable, "app-" + pod);
              thread.setDaemon(true);
              return thread;
            });
    this.server = HttpServer.create(listen, 64);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  private void handle(HttpExchange exchange) throws IOException {
    exchange.getRequestBody().readAllBytes();
    ObjectNode answer = identity.deepCopy();
    String caller = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
    if (caller != null) {
      answer.put("caller", caller.startsWith("URI=") ? caller.substring(4) : caller);
    }
    int status = 200;
    if (!calls.isEmpty()) {
      try {
        HttpResponse<String> upstream =
            client.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://"
                                + calls
                                + "."
                                + ClusterSpec.NAMESPACE
                                + ".svc.cluster.local:"
                                + ClusterSpec.SERVICE_PORT
                                + "/"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (upstream.statusCode() == 200) {
          answer.set("upstream", JSON.readTree(upstream.body()));
        } else {
          status = 502;
          answer.put(
              "error",
              calls + " answered " + upstream.statusCode() + ": " + upstream.body().trim());
        }
      } catch (IOException e) {
        status = 502;
        answer.put("error", "calling " + calls + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        status = 503;
      }
    }
    byte[] body = JSON.writeValueAsBytes(answer);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
