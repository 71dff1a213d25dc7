package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.fedmesh.agent.status.AgentMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The injection webhook over HTTPS: {@code POST /inject} takes an AdmissionReview and answers with
 * {@link SidecarInjector}'s decision; {@code GET /healthz} says the server is up.
 */
public final class WebhookServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WebhookServer.class);

  /** The most a review may weigh; the API server caps objects at 3 MiB. */
  private static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

  private final HttpsServer server;
  private final ExecutorService executor;
  private final SidecarInjector injector;
  private final AgentMetrics metrics;

  private WebhookServer(
      InetSocketAddress address, SSLContext tls, SidecarInjector injector, AgentMetrics metrics)
      throws IOException {
    this.injector = injector;
    this.metrics = metrics;
    server = HttpsServer.create(address, 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    executor =
        Executors.newFixedThreadPool(
            2,
            runnable -> {
              Thread thread = new Thread(runnable, "agent-webhook");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/inject", this::inject);
    server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
  }

  /** Binds {@code address} and serves reviews until closed. */
  public static WebhookServer start(
      InetSocketAddress address,
      WebhookCertificate certificate,
      SidecarInjector injector,
      AgentMetrics metrics) {
    requireNonNull(address, "address");
    requireNonNull(certificate, "certificate");
    requireNonNull(injector, "injector");
    requireNonNull(metrics, "metrics");
    WebhookServer server;
    try {
      server = new WebhookServer(address, certificate.sslContext(), injector, metrics);
    } catch (IOException e) {
      throw new UncheckedIOException("webhook address " + address + ": cannot bind", e);
    }
    server.server.start();
    log.info("sidecar injection webhook on https://{}/inject", server.address());
    return server;
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  private void inject(HttpExchange exchange) throws IOException {
    if (!"POST".equals(exchange.getRequestMethod())) {
      exchange.getResponseHeaders().set("Allow", "POST");
      respond(
          exchange,
          405,
          "text/plain",
          "method: " + exchange.getRequestMethod() + " (expected: POST of an AdmissionReview)\n");
      return;
    }
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readNBytes(MAX_BODY_BYTES + 1);
    }
    if (body.length > MAX_BODY_BYTES) {
      count(SidecarInjector.Outcome.MALFORMED);
      respond(
          exchange,
          413,
          "text/plain",
          "body: over " + MAX_BODY_BYTES + " bytes (expected: one AdmissionReview)\n");
      return;
    }
    SidecarInjector.Reply reply = injector.review(body);
    count(reply.outcome());
    switch (reply.outcome()) {
      case INJECTED -> log.info("{}", reply.reason());
      case SKIPPED -> log.debug("not injected: {}", reply.reason());
      case REFUSED, MALFORMED -> log.warn("review refused: {}", reply.reason());
    }
    respond(
        exchange,
        reply.httpStatus(),
        reply.httpStatus() == 200 ? "application/json" : "text/plain",
        reply.body());
  }

  private void count(SidecarInjector.Outcome outcome) {
    metrics.injections.labelValues(outcome.name().toLowerCase(Locale.ROOT)).inc();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
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
