package dev.fedmesh.proxy.telemetry;

import static java.util.Objects.requireNonNull;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Istio's standard metrics, with Istio's names and labels, so that Istio's Grafana dashboards and
 * Kiali read a fedmesh mesh unchanged: {@code istio_requests_total}, {@code
 * istio_request_duration_milliseconds}, {@code istio_request_bytes}, {@code istio_response_bytes}
 * for HTTP and gRPC, and {@code istio_tcp_*} for opaque TCP; plus the access log when one is
 * configured. Each proxy reports what it saw from its side of the call ({@code reporter}); the
 * other side's workload comes from the metadata exchange (see {@link Workload#HEADER}).
 */
public final class Telemetry {
  static final String[] LABELS = {
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_cluster",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy"
  };

  /** TCP connections have no response: Istio's HTTP labels less the response's two. */
  static final String[] TCP_LABELS =
      java.util.Arrays.stream(LABELS)
          .filter(l -> !l.equals("response_code") && !l.equals("grpc_response_status"))
          .toArray(String[]::new);

  private final Workload self;
  private final String selfHeader;
  private final java.util.function.Supplier<String> selfPrincipal;
  private final Counter requests;
  private final Histogram duration;
  private final Histogram requestBytes;
  private final Histogram responseBytes;
  private final Counter tcpSent;
  private final Counter tcpReceived;
  private final Counter tcpOpened;
  private final Counter tcpClosed;
  private final Map<SeriesKey, Series> series = new ConcurrentHashMap<>();
  private volatile AccessLog accessLog;
  private volatile Tracing tracing;

  /**
   * @param self the workload this proxy stands in front of
   * @param selfPrincipal its SPIFFE ID (the current certificate's), or "unknown" without one
   */
  public Telemetry(
      PrometheusRegistry registry,
      Workload self,
      java.util.function.Supplier<String> selfPrincipal) {
    this.self = requireNonNull(self, "self");
    this.selfHeader = self.toHeader();
    this.selfPrincipal = requireNonNull(selfPrincipal, "selfPrincipal");
    requests =
        Counter.builder()
            .name("istio_requests_total")
            .help("Requests, by both ends' workloads and the response (Istio standard metric)")
            .labelNames(LABELS)
            .register(registry);
    // Classic buckets only, as Istio's sidecars export them: the client's native (sparse)
    // histogram would add a concurrent map of buckets to every series and a lookup in it to every
    // observation, for a representation only Prometheus' protobuf scrape format carries.
    duration =
        Histogram.builder()
            .name("istio_request_duration_milliseconds")
            .help("Request duration in milliseconds (Istio standard metric)")
            .labelNames(LABELS)
            .classicUpperBounds(
                0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)
            .classicOnly()
            .register(registry);
    requestBytes =
        Histogram.builder()
            .name("istio_request_bytes")
            .help("Request body sizes in bytes (Istio standard metric)")
            .labelNames(LABELS)
            .classicExponentialUpperBounds(1, 10, 8)
            .classicOnly()
            .register(registry);
    responseBytes =
        Histogram.builder()
            .name("istio_response_bytes")
            .help("Response body sizes in bytes (Istio standard metric)")
            .labelNames(LABELS)
            .classicExponentialUpperBounds(1, 10, 8)
            .classicOnly()
            .register(registry);
    tcpSent =
        Counter.builder()
            .name("istio_tcp_sent_bytes_total")
            .help("Bytes sent to the downstream of a TCP connection (Istio standard metric)")
            .labelNames(TCP_LABELS)
            .register(registry);
    tcpReceived =
        Counter.builder()
            .name("istio_tcp_received_bytes_total")
            .help("Bytes received from the downstream of a TCP connection (Istio standard metric)")
            .labelNames(TCP_LABELS)
            .register(registry);
    tcpOpened =
        Counter.builder()
            .name("istio_tcp_connections_opened_total")
            .help("TCP connections opened (Istio standard metric)")
            .labelNames(TCP_LABELS)
            .register(registry);
    tcpClosed =
        Counter.builder()
            .name("istio_tcp_connections_closed_total")
            .help("TCP connections closed (Istio standard metric)")
            .labelNames(TCP_LABELS)
            .register(registry);
  }

  /** Where each request is logged, or null for no access log. */
  public void accessLog(AccessLog log) {
    AccessLog old = this.accessLog;
    this.accessLog = log;
    if (old != null && old != log) {
      old.close();
    }
  }

  /** Where spans go, or null for no tracing; the tracing it replaces is flushed and closed. */
  public void tracing(Tracing tracing) {
    Tracing old = this.tracing;
    this.tracing = tracing;
    if (old != null && old != tracing) {
      old.close();
    }
  }

  public Tracing tracing() {
    return tracing;
  }

  /**
   * Starts the span of a request when tracing is on: the request's {@code traceparent} then names
   * this proxy's span for the next hop.
   */
  public void traced(RequestRecord record, io.netty.handler.codec.http.HttpHeaders headers) {
    Tracing current = tracing;
    if (current != null) {
      record.span = current.start(record, headers);
    }
  }

  public Workload self() {
    return self;
  }

  /** {@link #self()} as the metadata-exchange header's value, encoded once. */
  public String selfHeader() {
    return selfHeader;
  }

  /** Reports a finished request, once: metrics, and a line in the access log if on. */
  public void completed(RequestRecord record) {
    completed(record, null);
  }

  /**
   * {@link #completed(RequestRecord)} for a request of a connection that remembers its last
   * request's series in {@code last}: the requests of one connection are nearly always alike.
   */
  public void completed(RequestRecord record, LastSeries last) {
    if (!record.complete()) {
      return;
    }
    Series counted = series(record, last);
    counted.requests().inc();
    counted.duration().observe(record.elapsedNanos() / 1e6);
    counted.requestBytes().observe(record.requestBytes);
    counted.responseBytes().observe(record.responseBytes);
    if (record.span != null) {
      Tracing.end(record.span, record);
    }
    AccessLog log = accessLog;
    if (log != null) {
      log.write(record, self);
    }
  }

  /**
   * What a request's labels are made of, as the request holds them: requests alike in these share
   * one {@link Series}, found without building Istio's 21 label values again.
   */
  private record SeriesKey(
      RequestRecord.Reporter reporter,
      String authority,
      Workload peer,
      String sourcePrincipal,
      String selfPrincipal,
      boolean grpc,
      int responseCode,
      String grpcStatus,
      String flags,
      boolean mutualTls) {
    // Written out: a record's generated equals and hashCode go through method handles that C2
    // did not inline here (1.3% of a sidecar's CPU in SeriesKey.equals alone). Each reference
    // field is usually the very same object as in the last request (Objects.equals checks
    // identity first), so the comparison is cheap.
    @Override
    public boolean equals(Object other) {
      return other instanceof SeriesKey that
          && reporter == that.reporter
          && responseCode == that.responseCode
          && grpc == that.grpc
          && mutualTls == that.mutualTls
          && Objects.equals(authority, that.authority)
          && Objects.equals(peer, that.peer)
          && Objects.equals(sourcePrincipal, that.sourcePrincipal)
          && Objects.equals(selfPrincipal, that.selfPrincipal)
          && Objects.equals(grpcStatus, that.grpcStatus)
          && Objects.equals(flags, that.flags);
    }

    @Override
    public int hashCode() {
      int hash = reporter.hashCode();
      hash = 31 * hash + Objects.hashCode(authority);
      hash = 31 * hash + Objects.hashCode(peer);
      hash = 31 * hash + Objects.hashCode(sourcePrincipal);
      hash = 31 * hash + Objects.hashCode(selfPrincipal);
      hash = 31 * hash + Boolean.hashCode(grpc);
      hash = 31 * hash + responseCode;
      hash = 31 * hash + Objects.hashCode(grpcStatus);
      hash = 31 * hash + Objects.hashCode(flags);
      return 31 * hash + Boolean.hashCode(mutualTls);
    }
  }

  /** The four data points one request updates. */
  private record Series(
      CounterDataPoint requests,
      DistributionDataPoint duration,
      DistributionDataPoint requestBytes,
      DistributionDataPoint responseBytes) {}

  /**
   * The series the last request of one connection (or HTTP/2 stream) was counted in. Used on that
   * connection's event loop only.
   */
  public static final class LastSeries {
    private SeriesKey key;
    private Series series;
  }

  /** How many distinct series are remembered; beyond that each request looks its labels up. */
  private static final int SERIES_LIMIT = 4096;

  private Series series(RequestRecord r, LastSeries last) {
    SeriesKey key =
        new SeriesKey(
            r.reporter,
            r.authority,
            r.peer,
            r.reporter == RequestRecord.Reporter.SOURCE ? "" : r.sourcePrincipal,
            selfPrincipal.get(),
            r.grpc,
            r.responseCode,
            r.grpc ? r.grpcStatus : "",
            r.flags(),
            r.mutualTls);
    if (last != null && key.equals(last.key)) {
      return last.series;
    }
    Series known = series.get(key);
    if (known == null) {
      known = newSeries(key, r);
    }
    if (last != null) {
      last.key = key;
      last.series = known;
    }
    return known;
  }

  private Series newSeries(SeriesKey key, RequestRecord r) {
    String[] labels = labels(r);
    Series made =
        new Series(
            requests.labelValues(labels),
            duration.labelValues(labels),
            requestBytes.labelValues(labels),
            responseBytes.labelValues(labels));
    if (series.size() < SERIES_LIMIT) {
      series.put(key, made);
    }
    return made;
  }

  private String[] labels(RequestRecord r) {
    boolean source = r.reporter == RequestRecord.Reporter.SOURCE;
    return labels(
        r.reporter,
        r.authority,
        r.peer,
        source ? "unknown" : r.sourcePrincipal,
        r.grpc ? "grpc" : "http",
        Integer.toString(r.responseCode),
        r.grpc && !r.grpcStatus.isEmpty() ? r.grpcStatus : "",
        r.flags(),
        r.mutualTls);
  }

  /**
   * Istio's labels for a call seen from this proxy's side.
   *
   * @param peerPrincipal the caller's SPIFFE ID (destination side only)
   * @param responseCode null for TCP, which has no response labels
   */
  private String[] labels(
      RequestRecord.Reporter reporter,
      String authority,
      Workload peer,
      String peerPrincipal,
      String protocol,
      String responseCode,
      String grpcStatus,
      String flags,
      boolean mutualTls) {
    boolean source = reporter == RequestRecord.Reporter.SOURCE;
    Workload src = source ? self : peer;
    Workload dst = source ? peer : self;
    String service = service(authority);
    List<String> labels = new ArrayList<>(LABELS.length);
    labels.add(reporter.label());
    labels.add(src.name());
    labels.add(src.namespace());
    labels.add(source ? selfPrincipal.get() : peerPrincipal);
    labels.add(src.app());
    labels.add(src.version());
    labels.add(src.cluster());
    labels.add(dst.name());
    labels.add(dst.namespace());
    labels.add(source ? "unknown" : selfPrincipal.get());
    labels.add(dst.app());
    labels.add(dst.version());
    labels.add(service);
    labels.add(serviceName(service));
    labels.add(serviceNamespace(service));
    labels.add(dst.cluster());
    labels.add(protocol);
    if (responseCode != null) {
      labels.add(responseCode);
      labels.add(grpcStatus);
    }
    labels.add(flags);
    labels.add(mutualTls ? "mutual_tls" : "none");
    return labels.toArray(String[]::new);
  }

  /** A TCP connection this proxy relays, reported when it closes. */
  public TcpConnection tcpOpened(
      RequestRecord.Reporter reporter,
      String service,
      Workload peer,
      String peerPrincipal,
      boolean mutualTls) {
    String[] labels =
        labels(reporter, service, peer, peerPrincipal, "tcp", null, null, "-", mutualTls);
    tcpOpened.labelValues(labels).inc();
    return new TcpConnection(labels);
  }

  /** One relayed TCP connection's counters. */
  public final class TcpConnection {
    private final String[] labels;
    private boolean closed;

    private TcpConnection(String[] labels) {
      this.labels = labels;
    }

    /** Bytes the downstream sent (received by the proxy). */
    public void received(long bytes) {
      tcpReceived.labelValues(labels).inc(bytes);
    }

    /** Bytes sent to the downstream. */
    public void sent(long bytes) {
      tcpSent.labelValues(labels).inc(bytes);
    }

    public synchronized void closed() {
      if (!closed) {
        closed = true;
        tcpClosed.labelValues(labels).inc();
      }
    }
  }

  /** The service host: the authority without its port, lower case. */
  static String service(String authority) {
    if (authority == null || authority.isEmpty() || authority.equals("-")) {
      return "unknown";
    }
    if (authority.equals(dev.fedmesh.model.XdsNames.PASSTHROUGH_CLUSTER)) {
      return authority; // Istio's label for traffic to destinations the mesh does not know
    }
    String host = authority;
    int colon = host.lastIndexOf(':');
    if (colon > 0 && host.indexOf(']') < colon) {
      host = host.substring(0, colon);
    }
    return host.toLowerCase(Locale.ROOT);
  }

  static String serviceName(String service) {
    int dot = service.indexOf('.');
    return dot > 0 ? service.substring(0, dot) : service;
  }

  /** The namespace of {@code name.namespace[.svc...]}; unknown for a short name. */
  static String serviceNamespace(String service) {
    int first = service.indexOf('.');
    if (first <= 0 || service.equals("unknown")) {
      return "unknown";
    }
    int second = service.indexOf('.', first + 1);
    String namespace = service.substring(first + 1, second < 0 ? service.length() : second);
    return namespace.isEmpty() ? "unknown" : namespace;
  }
}
