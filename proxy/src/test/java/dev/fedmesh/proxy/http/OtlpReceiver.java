package dev.fedmesh.proxy.http;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OTLP/HTTP trace collector on loopback: takes {@code POST /v1/traces} with a protobuf {@code
 * ExportTraceServiceRequest}, as a real collector would, and keeps every span with the {@code
 * service.name} of its resource.
 */
final class OtlpReceiver implements AutoCloseable {
  /** A received span and the service that reported it. */
  record Received(String service, Span span) {}

  final List<Received> spans = new CopyOnWriteArrayList<>();
  private final HttpServer server;

  OtlpReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext(
        "/v1/traces",
        exchange -> {
          ExportTraceServiceRequest request;
          try (InputStream in = exchange.getRequestBody()) {
            request = ExportTraceServiceRequest.parseFrom(in.readAllBytes());
          }
          for (ResourceSpans resource : request.getResourceSpansList()) {
            String service =
                resource.getResource().getAttributesList().stream()
                    .filter(a -> a.getKey().equals("service.name"))
                    .map(a -> a.getValue().getStringValue())
                    .findFirst()
                    .orElse("");
            for (ScopeSpans scope : resource.getScopeSpansList()) {
              for (Span span : scope.getSpansList()) {
                spans.add(new Received(service, span));
              }
            }
          }
          byte[] body = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
          exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
  }

  String tracesUri() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
