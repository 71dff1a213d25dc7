package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Istio's {@code DestinationRule}: what happens to traffic for a host once routing has chosen it,
 * load balancing, locality failover, outlier detection, connection limits and TLS, and the named
 * subsets (by pod labels) that routes can address.
 *
 * @param host the fully qualified host it applies to
 */
public record DestinationRule(
    ObjectMeta metadata, String host, Optional<TrafficPolicy> trafficPolicy, List<Subset> subsets)
    implements Policy {

  public DestinationRule {
    requireNonNull(metadata, "metadata");
    requireNonNull(host, "host");
    subsets = List.copyOf(subsets);
  }

  @Override
  public DestinationRule withMetadata(ObjectMeta metadata) {
    return new DestinationRule(metadata, host, trafficPolicy, subsets);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.DESTINATION_RULE;
  }

  public Optional<Subset> subset(String name) {
    return subsets.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** A named group of the host's endpoints, by labels, with its own policy overrides. */
  public record Subset(
      String name, Map<String, String> labels, Optional<TrafficPolicy> trafficPolicy) {
    public Subset {
      labels = Map.copyOf(labels);
    }
  }

  /** A traffic policy, for the host or one subset, with per-port overrides. */
  public record TrafficPolicy(
      Optional<LoadBalancer> loadBalancer,
      Optional<ConnectionPool> connectionPool,
      Optional<OutlierDetection> outlierDetection,
      Optional<ClientTls> tls,
      List<PortPolicy> portLevelSettings) {
    public TrafficPolicy {
      portLevelSettings = List.copyOf(portLevelSettings);
    }
  }

  /** The settings of one port; fields it leaves out come from the enclosing policy. */
  public record PortPolicy(
      int port,
      Optional<LoadBalancer> loadBalancer,
      Optional<ConnectionPool> connectionPool,
      Optional<OutlierDetection> outlierDetection,
      Optional<ClientTls> tls) {}

  /**
   * @param simple ROUND_ROBIN, LEAST_REQUEST or RANDOM; empty when consistent hashing or
   *     unspecified
   */
  public record LoadBalancer(
      Optional<String> simple,
      Optional<ConsistentHash> consistentHash,
      Optional<LocalityLbSetting> localityLbSetting) {}

  /**
   * Consistent hashing of one request property onto a ring (or Maglev table).
   *
   * @param httpHeaderName the header to hash, or empty
   * @param httpQueryParameterName the query parameter to hash, or empty
   * @param useSourceIp hash the caller's address
   * @param httpCookieName the cookie to hash, or empty
   * @param maglev whether a Maglev table rather than a ring is used
   * @param tableSize the ring's minimum size or the Maglev table's size; 0 for the default
   */
  public record ConsistentHash(
      String httpHeaderName,
      String httpQueryParameterName,
      boolean useSourceIp,
      String httpCookieName,
      boolean maglev,
      long tableSize) {}

  /** Istio's outlier detection; absent fields keep fedmesh's defaults. */
  public record OutlierDetection(
      OptionalInt consecutive5xxErrors,
      OptionalInt consecutiveGatewayErrors,
      OptionalInt consecutiveLocalOriginFailures,
      Optional<Boolean> splitExternalLocalOriginErrors,
      Optional<Duration> interval,
      Optional<Duration> baseEjectionTime,
      OptionalInt maxEjectionPercent,
      OptionalInt minHealthPercent) {}

  /** Connection limits; absent fields keep fedmesh's defaults. */
  public record ConnectionPool(
      OptionalInt maxConnections,
      Optional<Duration> connectTimeout,
      OptionalInt http1MaxPendingRequests,
      OptionalInt http2MaxRequests,
      OptionalInt maxRetries) {}

  /**
   * TLS towards the destination.
   *
   * @param mode ISTIO_MUTUAL (the mesh's mTLS, the default), DISABLE (plain text) or SIMPLE (TLS to
   *     a service outside the mesh)
   * @param sni the server name for SIMPLE, or empty for the host's
   * @param subjectAltNames for SIMPLE, the names one of which the server's certificate must carry;
   *     empty for the ServiceEntry's, else the server name
   * @param caCertificates for SIMPLE, a PEM file on the proxy's host with the roots to trust; empty
   *     for the JDK's default roots
   */
  public record ClientTls(
      String mode, String sni, List<String> subjectAltNames, String caCertificates) {
    public ClientTls {
      requireNonNull(caCertificates, "caCertificates");
      subjectAltNames = List.copyOf(subjectAltNames);
    }
  }

  // ---------------------------------------------------------------------------------------------

  static DestinationRule parse(ObjectMeta metadata, Fields spec) {
    String host = Hosts.read(spec, "host", metadata.namespace()).orElse("");
    Optional<TrafficPolicy> trafficPolicy =
        spec.object("trafficPolicy").map(DestinationRule::trafficPolicy);
    List<Subset> subsets = new ArrayList<>();
    java.util.Set<String> names = new java.util.HashSet<>();
    List<Fields> written = spec.objects("subsets");
    for (int i = 0; i < written.size(); i++) {
      Fields subset = written.get(i);
      String name = subset.requiredString("name").orElse("");
      if (!name.isEmpty() && !ObjectMeta.DNS_LABEL.matcher(name).matches()) {
        subset.error("name", "'" + name + "' (expected: a DNS label)");
      } else if (!name.isEmpty() && !names.add(name)) {
        subset.error("name", "'" + name + "' (expected: unique among the subsets)");
      }
      Map<String, String> labels = subset.stringMap("labels");
      Optional<TrafficPolicy> policy =
          subset.object("trafficPolicy").map(DestinationRule::trafficPolicy);
      subset.end();
      subsets.add(new Subset(name, labels, policy));
    }
    VirtualService.exportTo(spec);
    spec.unsupported("workloadSelector", "a DestinationRule applies to every caller");
    spec.end();
    return new DestinationRule(metadata, host, trafficPolicy, subsets);
  }

  private static TrafficPolicy trafficPolicy(Fields policy) {
    Optional<LoadBalancer> lb = policy.object("loadBalancer").map(DestinationRule::loadBalancer);
    Optional<ConnectionPool> pool =
        policy.object("connectionPool").map(DestinationRule::connectionPool);
    Optional<OutlierDetection> outlier =
        policy.object("outlierDetection").map(DestinationRule::outlierDetection);
    Optional<ClientTls> tls = policy.object("tls").map(DestinationRule::tls);
    List<PortPolicy> ports = new ArrayList<>();
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (Fields port : policy.objects("portLevelSettings")) {
      int number = 0;
      Optional<Fields> selector = port.object("port");
      if (selector.isEmpty()) {
        port.error("port", "missing (expected: port.number)");
      } else {
        number = selector.get().int32("number", 1, 65535).orElse(0);
        if (!selector.get().has("number")) {
          selector.get().error("number", "missing (expected: a port number)");
        }
        selector.get().end();
        if (number > 0 && !seen.add(number)) {
          port.error("port.number", number + " (expected: each port once)");
        }
      }
      PortPolicy parsed =
          new PortPolicy(
              number,
              port.object("loadBalancer").map(DestinationRule::loadBalancer),
              port.object("connectionPool").map(DestinationRule::connectionPool),
              port.object("outlierDetection").map(DestinationRule::outlierDetection),
              port.object("tls").map(DestinationRule::tls));
      port.end();
      ports.add(parsed);
    }
    policy.unsupported("tunnel");
    policy.unsupported("proxyProtocol");
    policy.unsupported("retryBudget", "fedmesh keeps a 20% retry budget on every cluster");
    policy.end();
    return new TrafficPolicy(lb, pool, outlier, tls, ports);
  }

  private static LoadBalancer loadBalancer(Fields lb) {
    lb.exclusive("simple", "consistentHash"); // setting both is reported as an error
    Optional<String> simple =
        lb.oneOf(
            "simple",
            "UNSPECIFIED",
            "ROUND_ROBIN",
            "LEAST_REQUEST",
            "LEAST_CONN",
            "RANDOM",
            "PASSTHROUGH");
    if (simple.isPresent() && simple.get().equals("PASSTHROUGH")) {
      lb.error(
          "simple", "'PASSTHROUGH' not supported (expected: ROUND_ROBIN, LEAST_REQUEST or RANDOM)");
      simple = Optional.empty();
    }
    simple =
        simple
            .map(s -> s.equals("LEAST_CONN") ? "LEAST_REQUEST" : s)
            .filter(s -> !s.equals("UNSPECIFIED"));
    Optional<ConsistentHash> hash =
        lb.object("consistentHash").flatMap(DestinationRule::consistentHash);
    Optional<LocalityLbSetting> locality =
        lb.object("localityLbSetting").flatMap(LocalityLbSetting::parse);
    lb.unsupported("warmupDurationSecs", "slow start");
    lb.unsupported("warmup", "slow start");
    lb.end();
    return new LoadBalancer(simple, hash, locality);
  }

  private static Optional<ConsistentHash> consistentHash(Fields hash) {
    int keys =
        hash.exclusive("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName");
    if (keys == 0) {
      hash.error(
          null,
          "has no hash key (expected: httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName)");
    }
    String header = hash.string("httpHeaderName").orElse("");
    String query = hash.string("httpQueryParameterName").orElse("");
    boolean sourceIp = hash.bool("useSourceIp").orElse(false);
    String cookie = "";
    Optional<Fields> cookieFields = hash.object("httpCookie");
    if (cookieFields.isPresent()) {
      cookie = cookieFields.get().requiredString("name").orElse("");
      cookieFields.get().string("path");
      cookieFields
          .get()
          .unsupported("ttl", "generated cookies; the cookie must come from the client");
      cookieFields.get().unsupported("attributes");
      cookieFields.get().end();
    }
    hash.exclusive("ringHash", "maglev", "minimumRingSize"); // more than one is an error
    long size = hash.integer("minimumRingSize", 1, 8_388_608).orElse(0L);
    boolean maglev = false;
    Optional<Fields> ring = hash.object("ringHash");
    if (ring.isPresent()) {
      size = ring.get().integer("minimumRingSize", 1, 8_388_608).orElse(0L);
      ring.get().end();
    }
    Optional<Fields> maglevFields = hash.object("maglev");
    if (maglevFields.isPresent()) {
      maglev = true;
      size = maglevFields.get().integer("tableSize", 1, 5_000_011).orElse(0L);
      maglevFields.get().end();
    }
    hash.end();
    return Optional.of(new ConsistentHash(header, query, sourceIp, cookie, maglev, size));
  }

  private static OutlierDetection outlierDetection(Fields od) {
    OptionalInt consecutive5xx =
        optionalInt(od.int32("consecutive5xxErrors", 0, Integer.MAX_VALUE));
    OptionalInt deprecated = optionalInt(od.int32("consecutiveErrors", 0, Integer.MAX_VALUE));
    if (consecutive5xx.isEmpty()) {
      consecutive5xx = deprecated;
    }
    OptionalInt gateway = optionalInt(od.int32("consecutiveGatewayErrors", 0, Integer.MAX_VALUE));
    OptionalInt local =
        optionalInt(od.int32("consecutiveLocalOriginFailures", 0, Integer.MAX_VALUE));
    Optional<Boolean> split = od.bool("splitExternalLocalOriginErrors");
    Optional<Duration> interval = od.duration("interval", Duration.ofMillis(1));
    Optional<Duration> base = od.duration("baseEjectionTime", Duration.ofMillis(1));
    OptionalInt max = optionalInt(od.int32("maxEjectionPercent", 0, 100));
    OptionalInt minHealth = optionalInt(od.int32("minHealthPercent", 0, 100));
    od.end();
    return new OutlierDetection(
        consecutive5xx, gateway, local, split, interval, base, max, minHealth);
  }

  private static ConnectionPool connectionPool(Fields pool) {
    OptionalInt maxConnections = OptionalInt.empty();
    Optional<Duration> connectTimeout = Optional.empty();
    Optional<Fields> tcp = pool.object("tcp");
    if (tcp.isPresent()) {
      maxConnections = optionalInt(tcp.get().int32("maxConnections", 1, Integer.MAX_VALUE));
      connectTimeout = tcp.get().duration("connectTimeout", Duration.ofMillis(1));
      tcp.get().unsupported("tcpKeepalive");
      tcp.get().unsupported("maxConnectionDuration");
      tcp.get().unsupported("idleTimeout", "use http.idleTimeout");
      tcp.get().end();
    }
    OptionalInt pending = OptionalInt.empty();
    OptionalInt requests = OptionalInt.empty();
    OptionalInt retries = OptionalInt.empty();
    Optional<Fields> http = pool.object("http");
    if (http.isPresent()) {
      Fields h = http.get();
      pending = optionalInt(h.int32("http1MaxPendingRequests", 1, Integer.MAX_VALUE));
      requests = optionalInt(h.int32("http2MaxRequests", 1, Integer.MAX_VALUE));
      h.unsupported("maxRequestsPerConnection", "the sidecar keeps upstream connections open");
      retries = optionalInt(h.int32("maxRetries", 0, Integer.MAX_VALUE));
      h.unsupported("idleTimeout", "the sidecar keeps upstream connections open");
      h.unsupported("h2UpgradePolicy", "the protocol follows the port's declared protocol");
      h.unsupported("useClientProtocol", "the protocol follows the port's declared protocol");
      h.unsupported("maxConcurrentStreams");
      h.end();
    }
    pool.end();
    return new ConnectionPool(maxConnections, connectTimeout, pending, requests, retries);
  }

  private static ClientTls tls(Fields tls) {
    String mode = tls.oneOf("mode", "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL").orElse("");
    if (!tls.has("mode")) {
      tls.error("mode", "missing (expected: DISABLE, SIMPLE or ISTIO_MUTUAL)");
    }
    if (mode.equals("MUTUAL")) {
      tls.error(
          "mode",
          "'MUTUAL' not supported (expected: ISTIO_MUTUAL for mesh services, SIMPLE for external ones)");
    }
    String sni = tls.string("sni").orElse("");
    List<String> sans = tls.strings("subjectAltNames");
    tls.unsupported("clientCertificate", "mode MUTUAL");
    tls.unsupported("privateKey", "mode MUTUAL");
    String caCertificates = tls.string("caCertificates").orElse("");
    if (!caCertificates.isEmpty() && !caCertificates.startsWith("/")) {
      tls.error(
          "caCertificates",
          "'"
              + caCertificates
              + "' (expected: the absolute path of a PEM file on the proxy's host)");
    } else if (!caCertificates.isEmpty() && !mode.equals("SIMPLE")) {
      tls.error(
          "caCertificates",
          "set with mode "
              + mode
              + " (expected: only with SIMPLE; ISTIO_MUTUAL trusts the mesh's roots)");
    }
    tls.unsupported("credentialName");
    tls.unsupported("insecureSkipVerify");
    tls.unsupported("caCrl");
    tls.end();
    return new ClientTls(mode, sni, sans, caCertificates);
  }

  static OptionalInt optionalInt(Optional<Integer> value) {
    return value.map(OptionalInt::of).orElse(OptionalInt.empty());
  }
}
