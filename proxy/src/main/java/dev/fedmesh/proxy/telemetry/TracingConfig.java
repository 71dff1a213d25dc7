package dev.fedmesh.proxy.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.net.URI;
import java.util.Optional;

/**
 * The tracing an HTTP connection manager asks for, in Envoy's terms: {@code tracing.provider}
 * {@code envoy.tracers.opentelemetry} with an {@code http_service} (OTLP over HTTP, the collector's
 * {@code /v1/traces} URI) and {@code random_sampling} (percent of requests that start a trace;
 * Envoy's default 100). A request that arrives with a sampled W3C {@code traceparent} is traced
 * whatever the sampling.
 *
 * @param endpoint the collector's OTLP/HTTP traces URI
 * @param sampling the share of new traces, 0..1
 * @param serviceName the service name spans are reported under; empty for the workload's
 */
public record TracingConfig(URI endpoint, double sampling, String serviceName) {
  /**
   * The tracing a connection manager configures, if any.
   *
   * @throws IllegalArgumentException naming the field we cannot honour
   */
  public static Optional<TracingConfig> of(HttpConnectionManager manager) {
    if (!manager.hasTracing() || !manager.getTracing().hasProvider()) {
      return Optional.empty();
    }
    var tracing = manager.getTracing();
    var provider = tracing.getProvider();
    if (!provider.getTypedConfig().is(OpenTelemetryConfig.class)) {
      throw new IllegalArgumentException(
          "tracing.provider '"
              + provider.getName()
              + "': "
              + provider.getTypedConfig().getTypeUrl()
              + " is not supported (expected: envoy.tracers.opentelemetry)");
    }
    OpenTelemetryConfig config;
    try {
      config = provider.getTypedConfig().unpack(OpenTelemetryConfig.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("tracing.provider: does not parse", e);
    }
    if (!config.hasHttpService() || config.getHttpService().getHttpUri().getUri().isEmpty()) {
      throw new IllegalArgumentException(
          "tracing.provider.http_service.http_uri.uri: missing (expected: the collector's"
              + " OTLP/HTTP traces URI; grpc_service is not supported)");
    }
    URI endpoint;
    try {
      endpoint = URI.create(config.getHttpService().getHttpUri().getUri());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "tracing.provider.http_service.http_uri.uri: " + e.getMessage(), e);
    }
    if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme())) {
      throw new IllegalArgumentException(
          "tracing.provider.http_service.http_uri.uri '" + endpoint + "' (expected: http(s)://)");
    }
    double sampling =
        tracing.hasRandomSampling() ? tracing.getRandomSampling().getValue() / 100 : 1;
    if (!(sampling >= 0 && sampling <= 1)) {
      throw new IllegalArgumentException(
          "tracing.random_sampling "
              + tracing.getRandomSampling().getValue()
              + " (expected: 0..100)");
    }
    return Optional.of(new TracingConfig(endpoint, sampling, config.getServiceName()));
  }
}
