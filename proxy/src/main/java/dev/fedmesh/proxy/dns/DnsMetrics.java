package dev.fedmesh.proxy.dns;

import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.IntSupplier;

/**
 * What the DNS listener did, in the proxy's registry, named after Envoy's DNS filter statistics
 * with the {@code fedmesh_dns_} prefix. Types are labelled by name ({@code A}, {@code AAAA}, {@code
 * MX}, ...; {@code UNKNOWN} for types Netty does not name), so the label stays bounded.
 *
 * <ul>
 *   <li>{@code fedmesh_dns_downstream_rx_queries_total{protocol}}: messages received
 *   <li>{@code fedmesh_dns_downstream_rx_invalid_queries_total{protocol, reason}}: messages not
 *       answered from the table or forwarded ({@code short} and {@code response} are dropped;
 *       {@code malformed}, {@code oversized}, {@code qdcount} FORMERR; {@code opcode} NOTIMP;
 *       {@code badvers} BADVERS)
 *   <li>{@code fedmesh_dns_local_answers_total{type, result}}: answered from the table ({@code
 *       answer}, {@code nodata}, {@code nxdomain} under a known suffix)
 *   <li>{@code fedmesh_dns_external_queries_total{type, protocol}}: forwarded upstream
 *   <li>{@code fedmesh_dns_external_answers_total{type, rcode}}: upstream answers relayed
 *   <li>{@code fedmesh_dns_unanswered_queries_total{type, reason}}: forwarded queries answered
 *       SERVFAIL ({@code timeout}, {@code no_resolvers}) or REFUSED ({@code overflow}: {@code
 *       max_pending_lookups} reached)
 *   <li>{@code fedmesh_dns_upstream_try_failures_total{protocol, reason}}: upstream tries that gave
 *       nothing ({@code timeout}, {@code unreachable}, {@code closed}) and answers ignored as not
 *       ours ({@code mismatched})
 *   <li>{@code fedmesh_dns_upstream_tcp_retries_total}: truncated UDP answers asked again over TCP
 *   <li>{@code fedmesh_dns_truncated_responses_total{source}}: answers cut to a UDP client's limit
 *       with TC set ({@code local}, {@code external})
 *   <li>{@code fedmesh_dns_pending_lookups}: forwarded queries in flight
 * </ul>
 */
public final class DnsMetrics {
  private final Counter received;
  private final Counter invalid;
  private final Counter local;
  private final Counter external;
  private final Counter externalAnswers;
  private final Counter unanswered;
  private final Counter tryFailures;
  private final Counter tcpRetries;
  private final Counter truncated;

  DnsMetrics(PrometheusRegistry registry, IntSupplier pending) {
    received =
        Counter.builder()
            .name("fedmesh_dns_downstream_rx_queries_total")
            .help("DNS messages received by the DNS listener, by protocol")
            .labelNames("protocol")
            .register(registry);
    invalid =
        Counter.builder()
            .name("fedmesh_dns_downstream_rx_invalid_queries_total")
            .help("DNS messages dropped or answered with an error unread, by protocol and reason")
            .labelNames("protocol", "reason")
            .register(registry);
    local =
        Counter.builder()
            .name("fedmesh_dns_local_answers_total")
            .help("DNS queries answered from the sidecar's table, by type and result")
            .labelNames("type", "result")
            .register(registry);
    external =
        Counter.builder()
            .name("fedmesh_dns_external_queries_total")
            .help("DNS queries forwarded to the upstream resolvers, by type and protocol")
            .labelNames("type", "protocol")
            .register(registry);
    externalAnswers =
        Counter.builder()
            .name("fedmesh_dns_external_answers_total")
            .help("Upstream DNS answers relayed to the client, by type and response code")
            .labelNames("type", "rcode")
            .register(registry);
    unanswered =
        Counter.builder()
            .name("fedmesh_dns_unanswered_queries_total")
            .help("Forwarded DNS queries answered SERVFAIL or REFUSED, by type and reason")
            .labelNames("type", "reason")
            .register(registry);
    tryFailures =
        Counter.builder()
            .name("fedmesh_dns_upstream_try_failures_total")
            .help("Upstream DNS tries that gave no answer, by protocol and reason")
            .labelNames("protocol", "reason")
            .register(registry);
    tcpRetries =
        Counter.builder()
            .name("fedmesh_dns_upstream_tcp_retries_total")
            .help("Truncated upstream UDP answers asked again over TCP")
            .register(registry);
    truncated =
        Counter.builder()
            .name("fedmesh_dns_truncated_responses_total")
            .help("DNS answers truncated to a UDP client's size limit, by source")
            .labelNames("source")
            .register(registry);
    GaugeWithCallback.builder()
        .name("fedmesh_dns_pending_lookups")
        .help("Forwarded DNS queries waiting for an upstream answer")
        .callback(callback -> callback.call(pending.getAsInt()))
        .register(registry);
  }

  static String type(int type) {
    return DnsRecordType.valueOf(type).name();
  }

  void received(String protocol) {
    received.labelValues(protocol).inc();
  }

  void invalid(String protocol, String reason) {
    invalid.labelValues(protocol, reason).inc();
  }

  void local(int type, String result) {
    local.labelValues(type(type), result).inc();
  }

  void forwarded(int type, String protocol) {
    external.labelValues(type(type), protocol).inc();
  }

  void relayed(int type, int rcode) {
    externalAnswers.labelValues(type(type), DnsResponseCode.valueOf(rcode).toString()).inc();
  }

  void unanswered(int type, String reason) {
    unanswered.labelValues(type(type), reason).inc();
  }

  void tryFailed(String protocol, String reason) {
    tryFailures.labelValues(protocol, reason).inc();
  }

  void tcpRetry() {
    tcpRetries.inc();
  }

  void truncated(String source) {
    truncated.labelValues(source).inc();
  }

  /** Counts so far, for status pages and tests. */
  public long localAnswers(String type, String result) {
    return (long) local.labelValues(type, result).get();
  }

  public long externalQueries(String type, String protocol) {
    return (long) external.labelValues(type, protocol).get();
  }

  public long unansweredQueries(String type, String reason) {
    return (long) unanswered.labelValues(type, reason).get();
  }

  public long invalidQueries(String protocol, String reason) {
    return (long) invalid.labelValues(protocol, reason).get();
  }

  public long tryFailures(String protocol, String reason) {
    return (long) tryFailures.labelValues(protocol, reason).get();
  }
}
