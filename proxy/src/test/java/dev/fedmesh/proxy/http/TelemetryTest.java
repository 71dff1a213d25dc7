package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.proxy.telemetry.AccessLog;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.testkit.PrometheusText;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Istio's standard metrics and the access log, from both ends of real mTLS calls: after a known
 * sequence of requests, the scraped text (read by a strict parser) carries Istio's labels with both
 * workloads' names, learnt through the metadata exchange, and the right counts.
 */
class TelemetryTest {
  private static final String HOST = "payments.shop.svc.cluster.local:8080";

  private MeshPair mesh;

  @AfterEach
  void tearDown() throws Exception {
    if (mesh != null) {
      mesh.close();
    }
  }

  private static List<PrometheusText.Sample> scrape(HttpProxy proxy) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, proxy.stats().registry().scrape());
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void bothSidesReportEveryRequestWithIstiosLabelsAndLogIt() throws Exception {
    mesh = new MeshPair();
    HttpProxy server = mesh.server;
    HttpProxy client = mesh.client;
    Backend app = mesh.app;
    List<String> clientLog = new CopyOnWriteArrayList<>();
    List<String> serverLog = new CopyOnWriteArrayList<>();
    client.telemetry().accessLog(new AccessLog(clientLog::add, 1.0));
    server.telemetry().accessLog(new AccessLog(serverLog::add, 1.0));
    HttpClient http = mesh.http;

    List<HttpResponse<String>> responses = new ArrayList<>();
    app.failNext(2, 503);
    for (int i = 0; i < 5; i++) {
      responses.add(send(http, "http://" + HOST + "/pay?n=" + i));
    }
    HttpResponse<String> noRoute = send(http, "http://nowhere.shop.svc.cluster.local/");

    assertThat(responses)
        .extracting(HttpResponse::statusCode)
        .containsExactly(503, 503, 200, 200, 200);
    assertThat(noRoute.statusCode()).isEqualTo(404);
    // The exchange's header reaches neither the application nor the caller.
    assertThat(responses.get(2).headers().firstValue(Workload.HEADER)).isEmpty();
    assertThat(app.requests)
        .allSatisfy(h -> assertThat(h).doesNotContainKey("X-fedmesh-peer-metadata"));

    // Each side reports a request once its response is written: wait until all are in.
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                PrometheusText.sum(scrape(client), "istio_requests_total", Map.of()) == 6
                    && PrometheusText.sum(scrape(server), "istio_requests_total", Map.of()) == 5);
    List<PrometheusText.Sample> source = scrape(client);
    Map<String, String> sourceCall =
        Map.ofEntries(
            Map.entry("reporter", "source"),
            Map.entry("source_workload", "frontend-v1"),
            Map.entry("source_workload_namespace", "shop"),
            Map.entry("source_principal", "spiffe://fedmesh.local/ns/shop/sa/frontend"),
            Map.entry("source_cluster", "east"),
            Map.entry("destination_workload", "payments-v1"),
            Map.entry("destination_cluster", "west"),
            Map.entry("destination_service", "payments.shop.svc.cluster.local"),
            Map.entry("destination_service_name", "payments"),
            Map.entry("destination_service_namespace", "shop"),
            Map.entry("connection_security_policy", "mutual_tls"));
    assertThat(count(source, sourceCall, "200")).isEqualTo(3);
    assertThat(count(source, sourceCall, "503")).isEqualTo(2);
    assertThat(
            PrometheusText.sum(
                source,
                "istio_requests_total",
                Map.of(
                    "response_code", "404",
                    "response_flags", "NR",
                    "destination_workload", "unknown",
                    "destination_service", "nowhere.shop.svc.cluster.local")))
        .isEqualTo(1);

    List<PrometheusText.Sample> destination = scrape(server);
    Map<String, String> destinationCall =
        Map.of(
            "reporter", "destination",
            "source_workload", "frontend-v1",
            "source_principal", "spiffe://fedmesh.local/ns/shop/sa/frontend",
            "source_cluster", "east",
            "destination_workload", "payments-v1",
            "destination_principal", "spiffe://fedmesh.local/ns/shop/sa/payments",
            "destination_app", "payments",
            "destination_version", "v1",
            "connection_security_policy", "mutual_tls",
            "request_protocol", "http");
    assertThat(count(destination, destinationCall, "200")).isEqualTo(3);
    assertThat(count(destination, destinationCall, "503")).isEqualTo(2);
    assertThat(
            PrometheusText.sum(
                destination, "istio_request_duration_milliseconds_count", destinationCall))
        .isEqualTo(5);
    assertThat(
            PrometheusText.sum(
                destination,
                "istio_request_duration_milliseconds_bucket",
                with(destinationCall, "le", "+Inf")))
        .isEqualTo(5);

    // One access log line per request on each side, the same request id on both.
    ObjectMapper json = new ObjectMapper();
    // A line is written when its request is reported, on an event loop: wait for all of them, and
    // read them in any order.
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> serverLog.size() == 5 && clientLog.size() == 6);
    List<JsonNode> served = new ArrayList<>();
    for (String line : serverLog) {
      served.add(json.readTree(line));
    }
    assertThat(served)
        .extracting(n -> n.path("response_code").asInt())
        .containsExactlyInAnyOrder(503, 503, 200, 200, 200);
    assertThat(served)
        .extracting(n -> n.path("path").asText())
        .containsExactlyInAnyOrder("/pay?n=0", "/pay?n=1", "/pay?n=2", "/pay?n=3", "/pay?n=4");
    assertThat(served)
        .allSatisfy(
            n -> {
              assertThat(n.path("peer_principal").asText())
                  .isEqualTo("spiffe://fedmesh.local/ns/shop/sa/frontend");
              assertThat(n.path("reporter").asText()).isEqualTo("destination");
              assertThat(n.path("upstream_host").asText())
                  .isEqualTo(app.address().getHostString() + ":" + app.port());
            });
    List<String> sourceIds = new ArrayList<>();
    for (String line : clientLog) {
      sourceIds.add(json.readTree(line).path("request_id").asText());
    }
    assertThat(sourceIds)
        .containsAll(served.stream().map(n -> n.path("request_id").asText()).toList());
    List<String> flags = new ArrayList<>();
    for (String line : clientLog) {
      flags.add(json.readTree(line).path("response_flags").asText());
    }
    assertThat(flags).containsExactlyInAnyOrder("-", "-", "-", "-", "-", "NR");

    // Trace context travels unchanged to the application; a request id was made for it.
    String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    HttpResponse<String> traced =
        http.send(
            HttpRequest.newBuilder(URI.create("http://" + HOST + "/traced"))
                .header("traceparent", traceparent)
                .header("tracestate", "vendor=1")
                .header("x-b3-spanid", "00f067aa0ba902b7")
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(traced.statusCode()).isEqualTo(200);
    Map<String, List<String>> seen = new ArrayList<>(app.requests).get(5);
    assertThat(seen.get("Traceparent")).containsExactly(traceparent);
    assertThat(seen.get("Tracestate")).containsExactly("vendor=1");
    assertThat(seen.get("X-b3-spanid")).containsExactly("00f067aa0ba902b7");
    assertThat(seen.get("X-request-id")).hasSize(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> serverLog.size() == 6);
    JsonNode tracedLine = null;
    for (String line : serverLog) {
      JsonNode node = json.readTree(line);
      if (node.path("path").asText().equals("/traced")) {
        tracedLine = node;
      }
    }
    assertThat(tracedLine).isNotNull();
    assertThat(tracedLine.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(tracedLine.path("request_id").asText()).isEqualTo(seen.get("X-request-id").get(0));
  }

  private static Map<String, String> with(Map<String, String> labels, String key, String value) {
    Map<String, String> copy = new java.util.HashMap<>(labels);
    copy.put(key, value);
    return copy;
  }

  private static double count(
      List<PrometheusText.Sample> samples, Map<String, String> labels, String code) {
    return PrometheusText.sum(samples, "istio_requests_total", with(labels, "response_code", code));
  }

  private static HttpResponse<String> send(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
