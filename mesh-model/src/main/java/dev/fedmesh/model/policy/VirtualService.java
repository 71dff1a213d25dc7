package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Istio's {@code VirtualService} for mesh traffic: how requests to some hosts are routed, in order,
 * to weighted destinations, with retries, timeouts, faults, rewrites and header changes.
 *
 * @param hosts the hosts it applies to, fully qualified
 */
public record VirtualService(
    ObjectMeta metadata, List<String> hosts, List<HttpRoute> http, List<TcpRoute> tcp)
    implements Policy {

  public VirtualService {
    requireNonNull(metadata, "metadata");
    hosts = List.copyOf(hosts);
    http = List.copyOf(http);
    tcp = List.copyOf(tcp);
  }

  @Override
  public VirtualService withMetadata(ObjectMeta metadata) {
    return new VirtualService(metadata, hosts, http, tcp);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.VIRTUAL_SERVICE;
  }

  /**
   * One HTTP rule: the first whose matches hold (any of them; all when none) routes a request.
   *
   * @param route where it goes; empty only for a rule converted from a Gateway API or SMI document
   *     whose backends all weigh 0, which answers every request with an error
   * @param tryTimeout a timeout for each try that keeps the mesh's default retries: Gateway API's
   *     {@code timeouts.backendRequest}; always empty in a VirtualService, where {@code
   *     retries.perTryTimeout} says it
   */
  public record HttpRoute(
      String name,
      List<HttpMatch> match,
      List<Destination> route,
      Optional<Retries> retries,
      Optional<Duration> timeout,
      Optional<Fault> fault,
      Optional<Rewrite> rewrite,
      Optional<Redirect> redirect,
      HeaderChanges headers,
      Optional<Duration> tryTimeout) {
    public HttpRoute {
      match = List.copyOf(match);
      route = List.copyOf(route);
    }
  }

  /** Conditions that all hold for a request to match. Header and query maps are by name. */
  public record HttpMatch(
      String name,
      Optional<StringMatch> uri,
      Optional<StringMatch> method,
      Optional<StringMatch> authority,
      Optional<StringMatch> scheme,
      Map<String, StringMatch> headers,
      Map<String, StringMatch> withoutHeaders,
      Map<String, StringMatch> queryParams,
      OptionalInt port,
      boolean ignoreUriCase,
      Map<String, String> sourceLabels,
      String sourceNamespace) {
    /**
     * Whether a caller (a sidecar workload) may match: its labels carry every {@code sourceLabels}
     * entry and it runs in {@code sourceNamespace}. Callers without a workload (gRPC clients) match
     * only conditions that name no source.
     */
    public boolean admitsSource(String namespace, Map<String, String> labels) {
      if (!sourceNamespace.isEmpty() && !sourceNamespace.equals(namespace)) {
        return false;
      }
      for (Map.Entry<String, String> label : sourceLabels.entrySet()) {
        if (!label.getValue().equals(labels.get(label.getKey()))) {
          return false;
        }
      }
      return true;
    }
  }

  /**
   * Where matched traffic goes, with its share.
   *
   * @param host the destination's fully qualified host
   * @param subset a subset of a DestinationRule for that host, or empty
   * @param port the destination port, or empty for the request's own
   * @param weight the share: in a VirtualService a percent (100 when the route has one
   *     destination); in routes converted from Gateway API and SMI documents a relative weight
   *     above 0 (backends of weight 0 are left out), the share being weight / sum of weights
   */
  public record Destination(
      String host, String subset, OptionalInt port, int weight, HeaderChanges headers) {}

  /** {@code retries}: {@code attempts} retries after the first try, on {@code retryOn}. */
  public record Retries(int attempts, Optional<Duration> perTryTimeout, String retryOn) {}

  /**
   * {@code fault}: a delay and/or an abort, each for a percentage of requests.
   *
   * @param abortGrpcStatus the gRPC status name (UNAVAILABLE) or empty when the abort is HTTP
   */
  public record Fault(
      Optional<Duration> delay,
      double delayPercent,
      int abortHttpStatus,
      String abortGrpcStatus,
      double abortPercent) {
    public boolean aborts() {
      return abortHttpStatus > 0 || !abortGrpcStatus.isEmpty();
    }
  }

  /** {@code rewrite}: the URI prefix a match's uri prefix is replaced with, or a regex rewrite. */
  public record Rewrite(String uri, String authority, String regexMatch, String regexRewrite) {}

  /** {@code redirect}: answered by the caller's proxy with a redirect. */
  public record Redirect(
      String uri, String authority, OptionalInt port, String scheme, int redirectCode) {}

  /** Header changes: {@code request} before forwarding, {@code response} before answering. */
  public record HeaderChanges(HeaderOperations request, HeaderOperations response) {
    public static final HeaderChanges NONE =
        new HeaderChanges(HeaderOperations.NONE, HeaderOperations.NONE);

    public boolean isEmpty() {
      return request.isEmpty() && response.isEmpty();
    }
  }

  /** {@code set} overwrites, {@code add} appends, {@code remove} drops. */
  public record HeaderOperations(
      Map<String, String> set, Map<String, String> add, List<String> remove) {
    public static final HeaderOperations NONE = new HeaderOperations(Map.of(), Map.of(), List.of());

    public HeaderOperations {
      set = Map.copyOf(set);
      add = Map.copyOf(add);
      remove = List.copyOf(remove);
    }

    public boolean isEmpty() {
      return set.isEmpty() && add.isEmpty() && remove.isEmpty();
    }
  }

  /** A TCP rule: connections to a port (any, when no match) go to weighted destinations. */
  public record TcpRoute(List<Integer> ports, List<Destination> route) {}

  // ---------------------------------------------------------------------------------------------

  static VirtualService parse(ObjectMeta metadata, Fields spec) {
    String ns = metadata.namespace();
    List<String> hosts = new ArrayList<>();
    List<String> written = spec.strings("hosts");
    if (written.isEmpty()) {
      spec.error("hosts", "missing (expected: at least one host)");
    }
    for (int i = 0; i < written.size(); i++) {
      String host = written.get(i);
      if (!Hosts.valid(host)) {
        spec.error(
            "hosts[" + i + "]",
            "'"
                + host
                + "' (expected: a host name such as reviews, reviews.shop.svc.cluster.local or *.example.com)");
      } else {
        hosts.add(Hosts.qualify(host, ns));
      }
    }
    List<String> gateways = spec.strings("gateways");
    for (int i = 0; i < gateways.size(); i++) {
      if (!gateways.get(i).equals("mesh")) {
        spec.error(
            "gateways[" + i + "]",
            "'"
                + gateways.get(i)
                + "' not supported (expected: mesh; fedmesh routes mesh traffic, not ingress gateways)");
      }
    }
    exportTo(spec);
    List<HttpRoute> http = spec.list("http", route -> httpRoute(route, ns));
    List<TcpRoute> tcp = spec.list("tcp", route -> tcpRoute(route, ns));
    spec.unsupported("tls", "TLS routes by SNI; use tcp routes");
    if (!spec.has("http") && !spec.has("tcp") && !spec.has("tls")) {
      spec.error(null, "has no http or tcp routes (expected: at least one)");
    }
    spec.end();
    return new VirtualService(metadata, hosts, http, tcp);
  }

  /** {@code exportTo}: fedmesh applies every policy mesh-wide, so only {@code *} is accepted. */
  static void exportTo(Fields spec) {
    List<String> exportTo = spec.strings("exportTo");
    for (int i = 0; i < exportTo.size(); i++) {
      if (!exportTo.get(i).equals("*")) {
        spec.error(
            "exportTo[" + i + "]",
            "'"
                + exportTo.get(i)
                + "' not supported (expected: *; fedmesh applies a policy in every namespace and cluster)");
      }
    }
  }

  private static HttpRoute httpRoute(Fields route, String ns) {
    String name = route.string("name").orElse("");
    List<HttpMatch> match = route.list("match", VirtualService::httpMatch);
    List<Destination> destinations = destinations(route, ns, true);
    Optional<Retries> retries = route.object("retries").flatMap(VirtualService::retriesOf);
    Optional<Duration> timeout = route.duration("timeout", Duration.ZERO);
    Optional<Fault> fault = route.object("fault").flatMap(VirtualService::fault);
    Optional<Rewrite> rewrite = route.object("rewrite").map(VirtualService::rewrite);
    Optional<Redirect> redirect = route.object("redirect").map(VirtualService::redirect);
    HeaderChanges headers =
        route.object("headers").map(VirtualService::headerChanges).orElse(HeaderChanges.NONE);
    route.unsupported("mirror", "traffic mirroring");
    route.unsupported("mirrors", "traffic mirroring");
    route.unsupported("mirrorPercentage", "traffic mirroring");
    route.unsupported("mirror_percent", "traffic mirroring");
    route.unsupported("mirrorPercent", "traffic mirroring");
    route.unsupported("corsPolicy");
    route.unsupported("delegate");
    route.unsupported("directResponse");
    if (redirect.isPresent() && route.has("route")) {
      route.error(null, "sets route and redirect (expected: one of them)");
    }
    if (redirect.isPresent() && rewrite.isPresent()) {
      route.error(null, "sets redirect and rewrite (expected: a redirect's own uri instead)");
    }
    if (redirect.isEmpty() && destinations.isEmpty() && !route.has("route")) {
      route.error("route", "missing (expected: at least one destination, or a redirect)");
    }
    route.end();
    return new HttpRoute(
        name,
        match,
        destinations,
        retries,
        timeout,
        fault,
        rewrite,
        redirect,
        headers,
        Optional.empty());
  }

  private static HttpMatch httpMatch(Fields match) {
    String name = match.string("name").orElse("");
    Optional<StringMatch> uri = match.object("uri").flatMap(StringMatch::parse);
    Optional<StringMatch> method = match.object("method").flatMap(StringMatch::parse);
    Optional<StringMatch> authority = match.object("authority").flatMap(StringMatch::parse);
    Optional<StringMatch> scheme = match.object("scheme").flatMap(StringMatch::parse);
    Map<String, StringMatch> headers = matchMap(match, "headers");
    Map<String, StringMatch> withoutHeaders = matchMap(match, "withoutHeaders");
    Map<String, StringMatch> queryParams = matchMap(match, "queryParams");
    OptionalInt port =
        match.int32("port", 1, 65535).map(OptionalInt::of).orElse(OptionalInt.empty());
    boolean ignoreUriCase = match.bool("ignoreUriCase").orElse(false);
    Map<String, String> sourceLabels = match.stringMap("sourceLabels");
    String sourceNamespace = match.string("sourceNamespace").orElse("");
    if (!sourceNamespace.isEmpty() && !ObjectMeta.DNS_LABEL.matcher(sourceNamespace).matches()) {
      match.error("sourceNamespace", "'" + sourceNamespace + "' (expected: a namespace name)");
    }
    match.unsupported("gateways", "ingress gateways");
    match.unsupported("statPrefix");
    match.end();
    return new HttpMatch(
        name,
        uri,
        method,
        authority,
        scheme,
        headers,
        withoutHeaders,
        queryParams,
        port,
        ignoreUriCase,
        sourceLabels,
        sourceNamespace);
  }

  private static Map<String, StringMatch> matchMap(Fields match, String field) {
    Map<String, StringMatch> result = new java.util.LinkedHashMap<>();
    match
        .objectMap(field)
        .forEach(
            (name, value) -> {
              if (!name.equals(name.toLowerCase(java.util.Locale.ROOT))
                  && field.contains("eaders")) {
                value.error(
                    null,
                    "header names must be lower case (expected: '"
                        + name.toLowerCase(java.util.Locale.ROOT)
                        + "')");
              }
              StringMatch.parse(value).ifPresent(m -> result.put(name, m));
            });
    return result;
  }

  /** {@code route} of an HTTP or TCP rule: weights must add up to 100 when there are several. */
  private static List<Destination> destinations(Fields rule, String ns, boolean http) {
    List<Destination> result = new ArrayList<>();
    List<Fields> written = rule.objects("route");
    long total = 0;
    boolean anyWeight = false;
    for (Fields entry : written) {
      Optional<Destination> parsed = destination(entry, ns, http);
      int weight = entry.has("weight") ? 0 : -1;
      Optional<Integer> w = entry.int32("weight", 0, 100);
      if (w.isPresent()) {
        weight = w.get();
        anyWeight = true;
      }
      HeaderChanges headers =
          http
              ? entry
                  .object("headers")
                  .map(VirtualService::headerChanges)
                  .orElse(HeaderChanges.NONE)
              : HeaderChanges.NONE;
      entry.end();
      if (parsed.isPresent()) {
        Destination d = parsed.get();
        int effective = weight < 0 ? (written.size() == 1 ? 100 : 0) : weight;
        total += effective;
        result.add(new Destination(d.host(), d.subset(), d.port(), effective, headers));
      }
    }
    if (written.size() > 1 || anyWeight) {
      if (result.size() == written.size() && total != 100 && !(written.size() == 1 && !anyWeight)) {
        rule.error("route", "weights add up to " + total + " (expected: 100)");
      }
    }
    return result;
  }

  private static Optional<Destination> destination(Fields entry, String ns, boolean http) {
    Optional<Fields> destination = entry.object("destination");
    if (destination.isEmpty()) {
      if (!entry.has("destination")) {
        entry.error("destination", "missing (expected: an object with host)");
      }
      return Optional.empty();
    }
    Fields d = destination.get();
    Optional<String> host = Hosts.read(d, "host", ns);
    String subset = d.string("subset").orElse("");
    if (!subset.isEmpty() && !ObjectMeta.DNS_LABEL.matcher(subset).matches()) {
      d.error("subset", "'" + subset + "' (expected: a DNS label)");
    }
    OptionalInt port = OptionalInt.empty();
    Optional<Fields> portFields = d.object("port");
    if (portFields.isPresent()) {
      Optional<Integer> number = portFields.get().int32("number", 1, 65535);
      if (number.isEmpty() && !portFields.get().has("number")) {
        portFields.get().error("number", "missing (expected: a port number)");
      }
      portFields.get().end();
      port = number.map(OptionalInt::of).orElse(OptionalInt.empty());
    }
    d.end();
    if (host.isPresent() && host.get().startsWith("*")) {
      d.error("host", "'" + host.get() + "' (expected: one host, not a wildcard)");
      return Optional.empty();
    }
    OptionalInt chosen = port;
    return host.map(h -> new Destination(h, subset, chosen, 0, HeaderChanges.NONE));
  }

  static Optional<Retries> retriesOf(Fields retries) {
    int attempts = retries.int32("attempts", 0, 100).orElse(0);
    Optional<Duration> perTry = retries.duration("perTryTimeout", Duration.ofMillis(1));
    String retryOn = retries.string("retryOn").orElse("");
    for (String condition : retryOn.split(",")) {
      String c = condition.strip();
      if (!c.isEmpty() && !RETRY_ON.contains(c) && !c.chars().allMatch(Character::isDigit)) {
        retries.error(
            "retryOn",
            "'"
                + c
                + "' (expected: comma-separated conditions among "
                + String.join(", ", RETRY_ON)
                + ", or HTTP status codes)");
      }
    }
    retries.unsupported("retryRemoteLocalities");
    retries.end();
    return Optional.of(new Retries(attempts, perTry, retryOn));
  }

  /** The retry conditions Envoy and gRPC define, as Istio passes them through. */
  public static final List<String> RETRY_ON =
      List.of(
          "5xx",
          "gateway-error",
          "reset",
          "connect-failure",
          "retriable-4xx",
          "refused-stream",
          "retriable-status-codes",
          "cancelled",
          "deadline-exceeded",
          "internal",
          "resource-exhausted",
          "unavailable");

  /** gRPC status names Istio accepts in {@code fault.abort.grpcStatus}, by code. */
  public static final List<String> GRPC_STATUS =
      List.of(
          "OK",
          "CANCELLED",
          "UNKNOWN",
          "INVALID_ARGUMENT",
          "DEADLINE_EXCEEDED",
          "NOT_FOUND",
          "ALREADY_EXISTS",
          "PERMISSION_DENIED",
          "RESOURCE_EXHAUSTED",
          "FAILED_PRECONDITION",
          "ABORTED",
          "OUT_OF_RANGE",
          "UNIMPLEMENTED",
          "INTERNAL",
          "UNAVAILABLE",
          "DATA_LOSS",
          "UNAUTHENTICATED");

  private static Optional<Fault> fault(Fields fault) {
    Optional<Duration> delay = Optional.empty();
    double delayPercent = 0;
    Optional<Fields> delayFields = fault.object("delay");
    if (delayFields.isPresent()) {
      Fields d = delayFields.get();
      delay = d.duration("fixedDelay", Duration.ofMillis(1));
      if (!d.has("fixedDelay")) {
        d.error("fixedDelay", "missing (expected: a duration such as 5s)");
      }
      delayPercent = percentage(d);
      d.unsupported("exponentialDelay");
      d.end();
    }
    int httpStatus = 0;
    String grpcStatus = "";
    double abortPercent = 0;
    Optional<Fields> abortFields = fault.object("abort");
    if (abortFields.isPresent()) {
      Fields a = abortFields.get();
      if (a.exclusive("httpStatus", "grpcStatus", "http2Error") == 0) {
        a.error(null, "has no error (expected: httpStatus or grpcStatus)");
      }
      httpStatus = a.int32("httpStatus", 200, 599).orElse(0);
      grpcStatus = a.oneOf("grpcStatus", GRPC_STATUS.toArray(String[]::new)).orElse("");
      a.unsupported("http2Error");
      abortPercent = percentage(a);
      a.end();
    }
    if (delayFields.isEmpty() && abortFields.isEmpty()) {
      fault.error(null, "empty (expected: delay and/or abort)");
    }
    fault.end();
    return Optional.of(new Fault(delay, delayPercent, httpStatus, grpcStatus, abortPercent));
  }

  /** {@code percentage.value} (0..100, fractions allowed) or the older whole {@code percent}. */
  private static double percentage(Fields fields) {
    if (fields.exclusive("percentage", "percent") == 0) {
      return 100;
    }
    Optional<Integer> percent = fields.int32("percent", 0, 100);
    if (percent.isPresent()) {
      return percent.get();
    }
    Optional<Fields> percentage = fields.object("percentage");
    if (percentage.isEmpty()) {
      return 100;
    }
    double value = percentage.get().number("value", 0, 100).orElse(0.0);
    percentage.get().end();
    return value;
  }

  private static Rewrite rewrite(Fields rewrite) {
    String uri = rewrite.string("uri").orElse("");
    String authority = rewrite.string("authority").orElse("");
    String regexMatch = "";
    String regexRewrite = "";
    Optional<Fields> regex = rewrite.object("uriRegexRewrite");
    if (regex.isPresent()) {
      regexMatch = regex.get().regex("match").orElse("");
      regexRewrite = regex.get().string("rewrite").orElse("");
      if (!regex.get().has("match")) {
        regex.get().error("match", "missing (expected: a regular expression)");
      }
      regex.get().end();
      if (!uri.isEmpty()) {
        rewrite.error(null, "sets uri and uriRegexRewrite (expected: one of them)");
      }
    }
    if (uri.isEmpty() && authority.isEmpty() && regex.isEmpty()) {
      rewrite.error(null, "empty (expected: uri, authority or uriRegexRewrite)");
    }
    rewrite.end();
    return new Rewrite(uri, authority, regexMatch, regexRewrite);
  }

  private static Redirect redirect(Fields redirect) {
    String uri = redirect.string("uri").orElse("");
    String authority = redirect.string("authority").orElse("");
    OptionalInt port =
        redirect.int32("port", 1, 65535).map(OptionalInt::of).orElse(OptionalInt.empty());
    String scheme = redirect.oneOf("scheme", "http", "https").orElse("");
    int code = redirect.int32("redirectCode", 300, 399).orElse(301);
    if (!List.of(301, 302, 303, 307, 308).contains(code)) {
      redirect.error("redirectCode", code + " (expected: 301, 302, 303, 307 or 308)");
    }
    redirect.unsupported("derivePort");
    redirect.end();
    return new Redirect(uri, authority, port, scheme, code);
  }

  static HeaderChanges headerChanges(Fields headers) {
    HeaderOperations request =
        headers.object("request").map(VirtualService::operations).orElse(HeaderOperations.NONE);
    HeaderOperations response =
        headers.object("response").map(VirtualService::operations).orElse(HeaderOperations.NONE);
    headers.end();
    return new HeaderChanges(request, response);
  }

  private static HeaderOperations operations(Fields ops) {
    Map<String, String> set = ops.stringMap("set");
    Map<String, String> add = ops.stringMap("add");
    List<String> remove = ops.strings("remove");
    for (String name : set.keySet()) {
      checkHeaderName(ops, "set." + name, name);
    }
    for (String name : add.keySet()) {
      checkHeaderName(ops, "add." + name, name);
    }
    for (int i = 0; i < remove.size(); i++) {
      checkHeaderName(ops, "remove[" + i + "]", remove.get(i));
    }
    ops.end();
    return new HeaderOperations(set, add, remove);
  }

  static void checkHeaderName(Fields ops, String field, String name) {
    if (name.isEmpty()
        || name.startsWith(":")
        || !name.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
      ops.error(
          field,
          "'" + name + "' (expected: an HTTP header name; pseudo-headers cannot be changed)");
    } else if (name.equalsIgnoreCase("host")) {
      ops.error(field, "'host' (expected: rewrite.authority to change the host)");
    }
  }

  private static TcpRoute tcpRoute(Fields route, String ns) {
    List<Integer> ports = new ArrayList<>();
    for (Fields match : route.objects("match")) {
      match.int32("port", 1, 65535).ifPresent(ports::add);
      match.unsupported("destinationSubnets");
      match.unsupported("sourceLabels", "for tcp routes; HTTP routes support it");
      match.unsupported("sourceNamespace", "for tcp routes; HTTP routes support it");
      match.unsupported("gateways", "ingress gateways");
      match.end();
    }
    List<Destination> destinations = destinations(route, ns, false);
    if (destinations.size() > 1) {
      route.error(
          "route",
          destinations.size()
              + " destinations not supported (expected: one; weighted TCP routes are not enforced by the sidecar yet)");
    }
    if (destinations.isEmpty() && !route.has("route")) {
      route.error("route", "missing (expected: at least one destination)");
    }
    route.end();
    return new TcpRoute(ports, destinations);
  }
}
