package dev.fedmesh.proxy.telemetry;

import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What one proxied request was, filled in as it goes (by the downstream handler and the upstream
 * exchange, on one event loop) and handed to {@link Telemetry#completed} once, however it ends: the
 * facts of Envoy's access log and Istio's standard metric labels.
 */
public final class RequestRecord {
  /** Which end of the call this proxy is: Istio's {@code reporter} label. */
  public enum Reporter {
    SOURCE("source"),
    DESTINATION("destination");

    private final String label;

    Reporter(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  final Reporter reporter;
  final Instant startTime = Instant.now();
  final long startNanos = System.nanoTime();
  String method = "-";
  String path = "-";
  String authority = "-";
  String protocol = "HTTP/1.1";
  boolean grpc;
  String requestId = "-";
  String traceId = "-";
  String userAgent = "-";
  String downstreamPeer = "-";

  /** The calling workload's SPIFFE ID when it proved one (destination side), else unknown. */
  String sourcePrincipal = "unknown";

  boolean mutualTls;
  Workload peer = Workload.UNKNOWN;
  String upstreamCluster = "-";
  String upstreamHost = "-";
  int responseCode;
  String grpcStatus = "";
  long requestBytes;
  long responseBytes;
  private final Set<String> flags = new LinkedHashSet<>(2);

  /** The request's span when tracing is on. */
  io.opentelemetry.api.trace.Span span;

  private boolean completed;

  public RequestRecord(Reporter reporter) {
    this.reporter = reporter;
  }

  public RequestRecord request(
      String method, String path, String authority, String protocol, boolean grpc) {
    this.method = method;
    this.path = path;
    this.authority = authority;
    this.protocol = protocol;
    this.grpc = grpc;
    return this;
  }

  public RequestRecord ids(String requestId, String traceId, String userAgent) {
    this.requestId = requestId;
    this.traceId = traceId;
    this.userAgent = userAgent == null ? "-" : userAgent;
    return this;
  }

  /** The downstream connection: its address, and the peer's SPIFFE ID when it proved one. */
  public RequestRecord downstream(String address, String principal) {
    this.downstreamPeer = address;
    this.mutualTls = principal != null;
    if (principal != null) {
      this.sourcePrincipal = principal;
    }
    return this;
  }

  /** The path after normalization. */
  public void path(String path) {
    this.path = path;
  }

  /** The workload at the other end of the call, from its metadata header. */
  public void peer(Workload peer) {
    this.peer = peer;
  }

  public void upstream(String cluster, String host) {
    this.upstreamCluster = cluster;
    this.upstreamHost = host;
  }

  public void response(int code, String grpcStatus) {
    this.responseCode = code;
    if (grpcStatus != null) {
      this.grpcStatus = grpcStatus;
    }
  }

  /** The gRPC status, from response headers or trailers. */
  public void grpcStatus(String status) {
    this.grpcStatus = status;
  }

  public void addRequestBytes(long bytes) {
    requestBytes += bytes;
  }

  public void addResponseBytes(long bytes) {
    responseBytes += bytes;
  }

  /** An Envoy response flag (UH, UF, UO, NR, URX, UT, DC, UC, LR, RBAC, FI, DI, ...). */
  public void flag(String flag) {
    flags.add(flag);
  }

  /** Envoy's %RESPONSE_FLAGS%: the flags joined by commas, or "-". */
  public String flags() {
    return flags.isEmpty() ? "-" : String.join(",", flags);
  }

  public long elapsedNanos() {
    return System.nanoTime() - startNanos;
  }

  /** Marks the record done; false if it already was (a request is reported once). */
  boolean complete() {
    if (completed) {
      return false;
    }
    completed = true;
    return true;
  }

  /** On the caller's side: whether the request goes to its upstream over mutual TLS. */
  public void upstreamMutualTls(boolean mutualTls) {
    if (reporter == Reporter.SOURCE) {
      this.mutualTls = mutualTls;
    }
  }

  /** Whether the call is mutual TLS: the caller proved its identity, or the upstream must. */
  public boolean mutualTls() {
    return mutualTls;
  }

  public Reporter reporter() {
    return reporter;
  }
}
