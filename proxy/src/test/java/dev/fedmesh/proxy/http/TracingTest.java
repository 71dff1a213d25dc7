package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import dev.fedmesh.proxy.telemetry.Tracing;
import dev.fedmesh.proxy.telemetry.TracingConfig;
import io.envoyproxy.envoy.config.core.v3.HttpService;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.Percent;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Spans exported over OTLP to a collector the test runs: one per request per sidecar, chained
 * caller → callee → application through {@code traceparent}.
 */
class TracingTest {
  private MeshPair mesh;
  private OtlpReceiver collector;

  @AfterEach
  void tearDown() throws Exception {
    if (mesh != null) {
      mesh.close();
    }
    if (collector != null) {
      collector.close();
    }
  }

  private static String hex(com.google.protobuf.ByteString bytes) {
    return HexFormat.of().formatHex(bytes.toByteArray());
  }

  @Test
  void eachSidecarReportsItsSpanAsAChildOfTheHopBefore() throws Exception {
    collector = new OtlpReceiver();
    mesh = new MeshPair();
    TracingConfig config = new TracingConfig(URI.create(collector.tracesUri()), 1.0, "");
    mesh.client.telemetry().tracing(Tracing.start(config, MeshPair.FRONTEND));
    mesh.server.telemetry().tracing(Tracing.start(config, MeshPair.PAYMENTS));
    String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    String callerSpan = "00f067aa0ba902b7";

    HttpResponse<String> response =
        mesh.http.send(
            HttpRequest.newBuilder(URI.create("http://" + MeshPair.HOST + "/pay"))
                .header("traceparent", "00-" + trace + "-" + callerSpan + "-01")
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> collector.spans.size() >= 2);
    Map<String, Span> byService =
        Map.of(
            collector.spans.get(0).service(), collector.spans.get(0).span(),
            collector.spans.get(1).service(), collector.spans.get(1).span());
    Span client = byService.get("frontend-v1.shop");
    Span server = byService.get("payments-v1.shop");
    assertThat(client.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
    assertThat(server.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(hex(client.getTraceId())).isEqualTo(trace);
    assertThat(hex(server.getTraceId())).isEqualTo(trace);
    assertThat(hex(client.getParentSpanId())).isEqualTo(callerSpan);
    assertThat(hex(server.getParentSpanId())).isEqualTo(hex(client.getSpanId()));
    assertThat(client.getName()).isEqualTo("payments.shop.svc.cluster.local/*");
    assertThat(
            server.getAttributesList().stream()
                .filter(a -> a.getKey().equals("http.status_code"))
                .map(a -> a.getValue().getIntValue()))
        .containsExactly(200L);
    // The application is the server span's child.
    String seen = mesh.app.requests.peek().get("Traceparent").get(0);
    assertThat(seen).isEqualTo("00-" + trace + "-" + hex(server.getSpanId()) + "-01");
  }

  @Test
  void withNoSamplingAndNoIncomingTraceNothingIsExported() throws Exception {
    collector = new OtlpReceiver();
    mesh = new MeshPair();
    TracingConfig off = new TracingConfig(URI.create(collector.tracesUri()), 0.0, "");
    mesh.client.telemetry().tracing(Tracing.start(off, MeshPair.FRONTEND));

    for (int i = 0; i < 20; i++) {
      assertThat(
              mesh.http
                  .send(
                      HttpRequest.newBuilder(URI.create("http://" + MeshPair.HOST + "/pay"))
                          .timeout(Duration.ofSeconds(10))
                          .build(),
                      HttpResponse.BodyHandlers.discarding())
                  .statusCode())
          .isEqualTo(200);
    }
    mesh.client.telemetry().tracing(null); // flushes what was batched

    assertThat(collector.spans).isEmpty();
  }

  @Test
  void theConnectionManagersTracingConfigNamesTheCollectorAndTheSampling() {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setTracing(
                HttpConnectionManager.Tracing.newBuilder()
                    .setRandomSampling(Percent.newBuilder().setValue(10))
                    .setProvider(
                        io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder()
                            .setName("envoy.tracers.opentelemetry")
                            .setTypedConfig(
                                Any.pack(
                                    OpenTelemetryConfig.newBuilder()
                                        .setServiceName("frontend")
                                        .setHttpService(
                                            HttpService.newBuilder()
                                                .setHttpUri(
                                                    HttpUri.newBuilder()
                                                        .setUri("http://127.0.0.1:4318/v1/traces")))
                                        .build()))))
            .build();

    assertThat(TracingConfig.of(manager))
        .contains(
            new TracingConfig(URI.create("http://127.0.0.1:4318/v1/traces"), 0.1, "frontend"));
    assertThat(TracingConfig.of(HttpConnectionManager.getDefaultInstance())).isEmpty();
  }
}
