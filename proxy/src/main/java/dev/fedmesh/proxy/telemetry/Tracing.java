package dev.fedmesh.proxy.telemetry;

import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Spans for proxied requests, as Envoy's OpenTelemetry tracer makes them: one per request per proxy
 * (CLIENT on the caller's side, SERVER on the callee's), a child of the request's W3C {@code
 * traceparent} when it has one, and the request sent on with a {@code traceparent} naming this
 * span, so that the next hop's spans are its children. Spans are batched and exported over
 * OTLP/HTTP.
 */
public final class Tracing implements AutoCloseable {
  private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

  private static final TextMapGetter<HttpHeaders> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpHeaders headers) {
          return headers.names();
        }

        @Override
        public String get(HttpHeaders headers, String key) {
          return headers == null ? null : headers.get(key);
        }
      };
  private static final TextMapSetter<HttpHeaders> SETTER =
      (headers, key, value) -> {
        if (headers != null) {
          headers.set(key, value);
        }
      };

  private final TracingConfig config;
  private final SdkTracerProvider provider;
  private final Tracer tracer;

  private Tracing(TracingConfig config, SdkTracerProvider provider) {
    this.config = config;
    this.provider = provider;
    this.tracer = provider.get("fedmesh-proxy");
  }

  /** Starts exporting to the config's collector, spans named for {@code self}. */
  public static Tracing start(TracingConfig config, Workload self) {
    String service =
        config.serviceName().isEmpty()
            ? self.name() + "." + self.namespace()
            : config.serviceName();
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()
                    .merge(
                        Resource.create(
                            Attributes.of(
                                AttributeKey.stringKey("service.name"), service,
                                AttributeKey.stringKey("k8s.namespace.name"), self.namespace(),
                                AttributeKey.stringKey("fedmesh.cluster"), self.cluster()))))
            .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.sampling())))
            .addSpanProcessor(
                BatchSpanProcessor.builder(
                        OtlpHttpSpanExporter.builder()
                            .setEndpoint(config.endpoint().toString())
                            .setTimeout(Duration.ofSeconds(5))
                            .build())
                    .setScheduleDelay(Duration.ofMillis(200))
                    .build())
            .build();
    return new Tracing(config, provider);
  }

  public TracingConfig config() {
    return config;
  }

  /**
   * Starts the span of a request and rewrites its {@code traceparent} (and {@code tracestate}) to
   * name it. Headers are the request's, as they will be sent on.
   */
  Span start(RequestRecord record, HttpHeaders headers) {
    Context parent = W3C.extract(Context.root(), headers, GETTER);
    Span span =
        tracer
            .spanBuilder(Telemetry.service(record.authority) + "/*")
            .setParent(parent)
            .setSpanKind(
                record.reporter == RequestRecord.Reporter.SOURCE
                    ? SpanKind.CLIENT
                    : SpanKind.SERVER)
            .setAttribute("http.method", record.method)
            .setAttribute("http.url", record.path)
            .setAttribute("guid:x-request-id", record.requestId)
            .setAttribute("peer.address", record.downstreamPeer)
            .startSpan();
    if (span.getSpanContext().isValid()) {
      W3C.inject(parent.with(span), headers, SETTER);
    }
    return span;
  }

  /** Ends a request's span with what became of it. */
  static void end(Span span, RequestRecord record) {
    span.setAttribute("http.status_code", record.responseCode);
    span.setAttribute("response_flags", record.flags());
    span.setAttribute("upstream_cluster", record.upstreamCluster);
    span.setAttribute("upstream_address", record.upstreamHost);
    if (record.reporter == RequestRecord.Reporter.DESTINATION) {
      span.setAttribute("peer.principal", record.sourcePrincipal);
    }
    if (record.responseCode >= 500 || record.responseCode == 0) {
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  /** Exports what is batched, then stops. */
  @Override
  public void close() {
    provider.shutdown().join(5, TimeUnit.SECONDS);
  }
}
