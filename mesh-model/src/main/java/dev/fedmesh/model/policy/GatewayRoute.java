package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.policy.VirtualService.Destination;
import dev.fedmesh.model.policy.VirtualService.HeaderChanges;
import dev.fedmesh.model.policy.VirtualService.HeaderOperations;
import dev.fedmesh.model.policy.VirtualService.HttpMatch;
import dev.fedmesh.model.policy.VirtualService.HttpRoute;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A Kubernetes Gateway API route for mesh traffic (GAMMA): an {@code HTTPRoute} or a {@code
 * GRPCRoute} whose parents are Services. It is converted when it is read into the VirtualService
 * rules the sidecar already enforces, one per match, each with what Gateway API ranks matches by,
 * so that every route of a Service can be merged in Gateway API's order ({@link
 * PolicySet#virtualServiceFor}).
 *
 * <p>A VirtualService for the same host takes precedence over every Gateway API route of that host
 * (which then has no effect, and {@link PolicySet#check} warns so): fedmesh's own VirtualServices
 * are the older, fuller form, and one host is routed by one kind of document.
 *
 * @param kind {@link PolicyKind#HTTP_ROUTE} or {@link PolicyKind#GRPC_ROUTE}
 * @param parents the Services it routes, fully qualified, with the port it is limited to
 * @param matches every match of every rule, in the order written
 */
public record GatewayRoute(
    PolicyKind kind, ObjectMeta metadata, List<Parent> parents, List<MatchRoutes> matches)
    implements Policy {

  public GatewayRoute {
    requireNonNull(kind, "kind");
    requireNonNull(metadata, "metadata");
    if (kind != PolicyKind.HTTP_ROUTE && kind != PolicyKind.GRPC_ROUTE) {
      throw new IllegalArgumentException("kind: " + kind + " (expected: HTTPRoute or GRPCRoute)");
    }
    parents = List.copyOf(parents);
    matches = List.copyOf(matches);
  }

  @Override
  public GatewayRoute withMetadata(ObjectMeta metadata) {
    return new GatewayRoute(kind, metadata, parents, matches);
  }

  /**
   * A parent Service.
   *
   * @param host its fully qualified name
   * @param port the one port of it the route applies to, or empty for all
   */
  public record Parent(String host, OptionalInt port) {}

  /**
   * One match of one rule and the VirtualService rules it became (two for a path prefix other than
   * {@code /}: the exact path and the prefix with a trailing {@code /}, as Gateway API's prefixes
   * match whole path segments).
   *
   * @param rule the rule's index in {@code spec.rules}
   */
  public record MatchRoutes(int rule, Precedence precedence, List<HttpRoute> routes) {
    public MatchRoutes {
      requireNonNull(precedence, "precedence");
      routes = List.copyOf(routes);
    }
  }

  /**
   * What Gateway API orders matches by across every route of a Service: an exact path before a
   * prefix, a longer prefix before a shorter, then a method match, then more header matches, then
   * more query parameter matches. A regular expression path ranks below every prefix (Gateway API
   * leaves it to the implementation; Istio ranks it so). A GRPCRoute match ranks as an exact path
   * when it names service and method, else as a prefix as long as its service and method.
   *
   * @param path {@link #EXACT}, {@link #PREFIX} or {@link #REGEX}
   * @param length the path's length in characters
   */
  public record Precedence(int path, int length, boolean method, int headers, int queryParams)
      implements Comparable<Precedence> {
    public static final int EXACT = 3;
    public static final int PREFIX = 2;
    public static final int REGEX = 1;

    private static final Comparator<Precedence> MOST_SPECIFIC_FIRST =
        Comparator.comparingInt(Precedence::path)
            .thenComparingInt(Precedence::length)
            .thenComparing(Precedence::method)
            .thenComparingInt(Precedence::headers)
            .thenComparingInt(Precedence::queryParams)
            .reversed();

    /** Negative when this match takes precedence over {@code other}. */
    @Override
    public int compareTo(Precedence other) {
      return MOST_SPECIFIC_FIRST.compare(this, other);
    }
  }

  /** The ports of {@code host} this route applies to; empty when it applies to all. */
  public Set<Integer> portsOf(String host) {
    Set<Integer> ports = new TreeSet<>();
    for (Parent parent : parents) {
      if (parent.host().equals(host)) {
        if (parent.port().isEmpty()) {
          return Set.of();
        }
        ports.add(parent.port().getAsInt());
      }
    }
    return ports;
  }

  /** Whether a parent of this route is {@code host}. */
  public boolean routes(String host) {
    return parents.stream().anyMatch(parent -> parent.host().equals(host));
  }

  // ---------------------------------------------------------------------------------------------

  private static final Pattern SECTION_NAME =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern GATEWAY_DURATION = Pattern.compile("([0-9]{1,5}(h|m|s|ms)){1,4}");
  private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+\\-.^_`|~]+");
  private static final Pattern GRPC_SERVICE =
      Pattern.compile("\\.?[A-Za-z_][A-Za-z_0-9]*(\\.[A-Za-z_][A-Za-z_0-9]*)*");
  private static final Pattern GRPC_METHOD = Pattern.compile("[A-Za-z_][A-Za-z_0-9]*");
  private static final List<String> METHODS =
      List.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  /** Gateway API's largest backend weight. */
  static final int MAX_WEIGHT = 1_000_000;

  /** The filter types of Gateway API, each with the field holding its settings. */
  private static final Map<String, String> FILTER_FIELDS =
      Map.of(
          "RequestHeaderModifier", "requestHeaderModifier",
          "ResponseHeaderModifier", "responseHeaderModifier",
          "URLRewrite", "urlRewrite",
          "RequestRedirect", "requestRedirect",
          "RequestMirror", "requestMirror",
          "ExtensionRef", "extensionRef",
          "CORS", "cors",
          "ExternalAuth", "externalAuth");

  /** Filter types fedmesh knows and refuses, with why. */
  private static final Map<String, String> REFUSED_FILTERS =
      Map.of(
          "RequestMirror", "traffic mirroring",
          "ExtensionRef", "implementation-specific filters",
          "CORS", "CORS",
          "ExternalAuth", "external authorization");

  static GatewayRoute parseHttp(ObjectMeta metadata, Fields spec) {
    return parse(PolicyKind.HTTP_ROUTE, metadata, spec);
  }

  static GatewayRoute parseGrpc(ObjectMeta metadata, Fields spec) {
    return parse(PolicyKind.GRPC_ROUTE, metadata, spec);
  }

  private static GatewayRoute parse(PolicyKind kind, ObjectMeta metadata, Fields spec) {
    String ns = metadata.namespace();
    List<Parent> parents = parents(spec, ns);
    hostnames(spec, ns, parents);
    List<MatchRoutes> matches = new ArrayList<>();
    List<Fields> rules = spec.objects("rules");
    if (rules.isEmpty() && !spec.has("rules")) {
      spec.error("rules", "missing (expected: at least one rule with backendRefs)");
    }
    Set<String> ruleNames = new TreeSet<>();
    for (int r = 0; r < rules.size(); r++) {
      matches.addAll(rule(kind, metadata, rules.get(r), r, ruleNames));
    }
    spec.end();
    return new GatewayRoute(kind, metadata, parents, matches);
  }

  /** {@code parentRefs}: Services only, in the route's own namespace. */
  private static List<Parent> parents(Fields spec, String ns) {
    List<Parent> parents = new ArrayList<>();
    List<Fields> refs = spec.objects("parentRefs");
    if (refs.isEmpty() && !spec.has("parentRefs")) {
      spec.error("parentRefs", "missing (expected: at least one Service, as kind: Service)");
    }
    for (Fields ref : refs) {
      Optional<String> kind = ref.string("kind");
      Optional<String> group = ref.string("group");
      boolean service = kind.isPresent() && kind.get().equals("Service");
      if (kind.isEmpty()) {
        ref.error(
            "kind",
            "missing, which means a Gateway (ingress gateways not supported; expected: kind:"
                + " Service, group: \"\")");
      } else if (!service) {
        ref.error(
            "kind",
            "'"
                + kind.get()
                + "' not supported ("
                + (kind.get().equals("Gateway") ? "ingress gateways not supported; " : "")
                + "expected: Service; fedmesh routes mesh traffic to Services)");
      }
      if (service && (group.isEmpty() || !(group.get().isEmpty() || group.get().equals("core")))) {
        ref.error(
            "group",
            group.map(g -> "'" + g + "'").orElse("missing, which means gateway.networking.k8s.io")
                + " (expected: \"\" or core, the group of a Service)");
        service = false;
      }
      Optional<String> name = ref.requiredString("name");
      if (name.isPresent() && !ObjectMeta.DNS_LABEL.matcher(name.get()).matches()) {
        ref.error("name", "'" + name.get() + "' (expected: a Service name, a DNS label)");
        name = Optional.empty();
      }
      Optional<String> namespace = ref.string("namespace");
      if (namespace.isPresent() && !namespace.get().equals(ns)) {
        ref.error(
            "namespace",
            "'"
                + namespace.get()
                + "' not supported (consumer routes, which apply only to callers in the route's"
                + " namespace, are not generated; expected: "
                + ns
                + ", the route's namespace)");
        service = false;
      }
      OptionalInt port =
          ref.int32("port", 1, 65535).map(OptionalInt::of).orElse(OptionalInt.empty());
      ref.unsupported("sectionName", "name the Service port by number with port");
      ref.end();
      if (service && name.isPresent()) {
        parents.add(new Parent(Hosts.qualify(name.get(), ns), port));
      }
    }
    return parents;
  }

  /**
   * {@code hostnames}: every request to a parent Service is routed whatever its Host header, so a
   * hostname is accepted only when it names every parent (or is a wildcard covering them).
   */
  private static void hostnames(Fields spec, String ns, List<Parent> parents) {
    List<String> hostnames = spec.strings("hostnames");
    for (int i = 0; i < hostnames.size(); i++) {
      String hostname = hostnames.get(i);
      String field = "hostnames[" + i + "]";
      if (!Hosts.valid(hostname) || hostname.equals("*")) {
        spec.error(
            field,
            "'"
                + hostname
                + "' (expected: a host name such as checkout or *.shop.svc.cluster.local)");
        continue;
      }
      String qualified = Hosts.qualify(hostname, ns);
      for (Parent parent : parents) {
        if (!Hosts.matches(qualified, parent.host())) {
          spec.error(
              field,
              "'"
                  + hostname
                  + "' does not name the parent Service "
                  + parent.host()
                  + " (expected: a name of every parent Service, or leave hostnames out; a"
                  + " Service's traffic is routed whatever its Host header)");
          break;
        }
      }
    }
  }

  /** One written match before conversion; {@code path} is never empty (Gateway API's default). */
  private record Written(
      StringMatch path,
      Optional<StringMatch> method,
      Map<String, StringMatch> headers,
      Map<String, StringMatch> queryParams,
      Precedence precedence) {}

  /** A rule's filters, read. */
  private static final class Filters {
    HeaderChanges headers = HeaderChanges.NONE;
    Optional<String> rewriteHost = Optional.empty();
    Optional<StringMatch> rewritePath = Optional.empty(); // EXACT: full path, PREFIX: prefix
    Optional<VirtualService.Redirect> redirect = Optional.empty();
  }

  private static List<MatchRoutes> rule(
      PolicyKind kind, ObjectMeta metadata, Fields rule, int index, Set<String> ruleNames) {
    boolean http = kind == PolicyKind.HTTP_ROUTE;
    Optional<String> ruleName = rule.string("name");
    if (ruleName.isPresent()) {
      if (!SECTION_NAME.matcher(ruleName.get()).matches() || ruleName.get().length() > 253) {
        rule.error(
            "name",
            "'"
                + ruleName.get()
                + "' (expected: a DNS subdomain: lower case letters, digits, '-')");
      } else if (!ruleNames.add(ruleName.get())) {
        rule.error("name", "'" + ruleName.get() + "' names another rule (expected: unique names)");
      }
    }
    String name = metadata.name() + "." + ruleName.orElse(Integer.toString(index));
    List<Written> matches = new ArrayList<>();
    for (Fields match : rule.objects("matches")) {
      Optional<Written> written = http ? httpMatch(match) : grpcMatch(match);
      written.ifPresent(matches::add);
    }
    if (matches.isEmpty() && !rule.has("matches")) {
      matches.add(
          new Written(
              new StringMatch(StringMatch.Type.PREFIX, "/"),
              Optional.empty(),
              Map.of(),
              Map.of(),
              new Precedence(Precedence.PREFIX, 0, false, 0, 0)));
    }
    Filters filters =
        filters(
            rule,
            http
                ? List.of(
                    "RequestHeaderModifier",
                    "ResponseHeaderModifier",
                    "URLRewrite",
                    "RequestRedirect")
                : List.of("RequestHeaderModifier", "ResponseHeaderModifier"));
    List<Destination> destinations = backends(rule, metadata.namespace());
    Optional<Duration> request = Optional.empty();
    Optional<Duration> backendRequest = Optional.empty();
    if (http) {
      Optional<Fields> timeouts = rule.object("timeouts");
      if (timeouts.isPresent()) {
        request = gatewayDuration(timeouts.get(), "request");
        backendRequest = gatewayDuration(timeouts.get(), "backendRequest");
        if (request.isPresent()
            && backendRequest.isPresent()
            && !request.get().isZero()
            && backendRequest.get().compareTo(request.get()) > 0) {
          timeouts
              .get()
              .error(
                  "backendRequest",
                  PolicyDurations.format(backendRequest.get())
                      + " (expected: at most request, "
                      + PolicyDurations.format(request.get())
                      + ")");
        }
        timeouts.get().end();
        // 0s turns the timeout off: no per-try timeout, as without one.
        backendRequest = backendRequest.filter(d -> !d.isZero());
      }
    }
    rule.unsupported("retry", "route retries; the mesh's default retries apply");
    rule.unsupported("sessionPersistence", "use a DestinationRule's consistentHash");
    if (filters.redirect.isPresent() && rule.has("backendRefs")) {
      rule.error(null, "sets backendRefs and a RequestRedirect filter (expected: one of them)");
    } else if (filters.redirect.isEmpty() && !rule.has("backendRefs")) {
      rule.error(
          "backendRefs",
          "missing (expected: at least one Service"
              + (http ? ", or a RequestRedirect filter)" : ")"));
    }
    if (filters.rewritePath.isPresent()
        && filters.rewritePath.get().type() == StringMatch.Type.PREFIX) {
      for (int m = 0; m < matches.size(); m++) {
        if (matches.get(m).path().type() != StringMatch.Type.PREFIX) {
          rule.error(
              "filters",
              "URLRewrite path ReplacePrefixMatch with matches["
                  + m
                  + "] not a PathPrefix (expected: PathPrefix matches only, as Gateway API"
                  + " requires)");
          break;
        }
      }
    }
    rule.end();

    List<MatchRoutes> result = new ArrayList<>();
    for (Written match : matches) {
      List<HttpRoute> routes = new ArrayList<>();
      StringMatch path = match.path();
      // An HTTPRoute's PathPrefix matches whole segments; a GRPCRoute's service prefix ends in /.
      if (http && path.type() == StringMatch.Type.PREFIX && !path.value().equals("/")) {
        String trimmed = trimSlash(path.value());
        routes.add(
            route(
                name,
                match,
                new StringMatch(StringMatch.Type.EXACT, trimmed),
                filters,
                destinations,
                request,
                backendRequest));
        routes.add(
            route(
                name,
                match,
                new StringMatch(StringMatch.Type.PREFIX, trimmed + "/"),
                filters,
                destinations,
                request,
                backendRequest));
      } else {
        routes.add(route(name, match, path, filters, destinations, request, backendRequest));
      }
      result.add(new MatchRoutes(index, match.precedence(), routes));
    }
    return result;
  }

  private static String trimSlash(String path) {
    return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /** One VirtualService rule for one path of one match. */
  private static HttpRoute route(
      String name,
      Written match,
      StringMatch path,
      Filters filters,
      List<Destination> destinations,
      Optional<Duration> request,
      Optional<Duration> backendRequest) {
    Optional<VirtualService.Rewrite> rewrite = Optional.empty();
    if (filters.rewriteHost.isPresent() || filters.rewritePath.isPresent()) {
      String uri = "";
      String regexMatch = "";
      String regexRewrite = "";
      if (filters.rewritePath.isPresent()) {
        StringMatch replace = filters.rewritePath.get();
        if (replace.type() == StringMatch.Type.EXACT) {
          regexMatch = "^.*$";
          regexRewrite = replace.value();
        } else {
          // ReplacePrefixMatch, as Gateway API defines it on path segments: /foo -> /bar turns
          // /foo into /bar and /foo/x into /bar/x; the exact path's rule rewrites the whole path.
          String replacement = trimSlash(replace.value());
          uri =
              path.type() == StringMatch.Type.EXACT
                  ? (replacement.isEmpty() ? "/" : replacement)
                  : replacement + "/";
        }
      }
      rewrite =
          Optional.of(
              new VirtualService.Rewrite(
                  uri, filters.rewriteHost.orElse(""), regexMatch, regexRewrite));
    }
    HttpMatch httpMatch =
        new HttpMatch(
            "",
            Optional.of(path),
            match.method(),
            Optional.empty(),
            Optional.empty(),
            match.headers(),
            Map.of(),
            match.queryParams(),
            OptionalInt.empty(),
            false,
            Map.of(),
            "");
    return new HttpRoute(
        name,
        List.of(httpMatch),
        filters.redirect.isPresent() ? List.of() : destinations,
        Optional.empty(),
        request,
        Optional.empty(),
        rewrite,
        filters.redirect,
        filters.headers,
        backendRequest);
  }

  private static Optional<Written> httpMatch(Fields match) {
    StringMatch path = new StringMatch(StringMatch.Type.PREFIX, "/");
    Optional<Fields> pathFields = match.object("path");
    boolean valid = true;
    if (pathFields.isPresent()) {
      Fields p = pathFields.get();
      String type =
          p.oneOf("type", "Exact", "PathPrefix", "RegularExpression").orElse("PathPrefix");
      Optional<String> value =
          type.equals("RegularExpression") ? p.regex("value") : p.string("value");
      String v = value.orElse("/");
      if (value.isEmpty() && p.has("value")) {
        valid = false;
      } else if (!type.equals("RegularExpression") && !validPath(v)) {
        p.error(
            "value",
            "'"
                + v
                + "' (expected: an absolute path such as /api, without '//', '/./', '/../', '?'"
                + " or '#')");
        valid = false;
      }
      path =
          new StringMatch(
              switch (type) {
                case "Exact" -> StringMatch.Type.EXACT;
                case "RegularExpression" -> StringMatch.Type.REGEX;
                default -> StringMatch.Type.PREFIX;
              },
              v);
      p.end();
    }
    Map<String, StringMatch> headers = namedMatches(match, "headers", true);
    Map<String, StringMatch> queryParams = namedMatches(match, "queryParams", false);
    Optional<String> method = match.oneOf("method", METHODS.toArray(String[]::new));
    match.end();
    if (!valid) {
      return Optional.empty();
    }
    Precedence precedence =
        new Precedence(
            switch (path.type()) {
              case EXACT -> Precedence.EXACT;
              case PREFIX -> Precedence.PREFIX;
              case REGEX -> Precedence.REGEX;
            },
            path.type() == StringMatch.Type.PREFIX
                ? trimSlash(path.value()).length()
                : path.value().length(),
            method.isPresent(),
            headers.size(),
            queryParams.size());
    return Optional.of(
        new Written(
            path,
            method.map(m -> new StringMatch(StringMatch.Type.EXACT, m)),
            headers,
            queryParams,
            precedence));
  }

  private static boolean validPath(String path) {
    return path.startsWith("/")
        && !path.contains("//")
        && !path.contains("/./")
        && !path.contains("/../")
        && !path.endsWith("/.")
        && !path.endsWith("/..")
        && !path.contains("?")
        && !path.contains("#")
        && !path.contains("\\")
        && !path.toLowerCase(Locale.ROOT).contains("%2f");
  }

  /** A GRPCRoute match: its method becomes the path {@code /service/method} gRPC requests name. */
  private static Optional<Written> grpcMatch(Fields match) {
    StringMatch path = new StringMatch(StringMatch.Type.PREFIX, "/");
    boolean exact = false;
    int length = 0;
    boolean valid = true;
    Optional<Fields> methodFields = match.object("method");
    if (methodFields.isPresent()) {
      Fields m = methodFields.get();
      String type = m.oneOf("type", "Exact", "RegularExpression").orElse("Exact");
      boolean regex = type.equals("RegularExpression");
      Optional<String> service = regex ? m.regex("service") : m.string("service");
      Optional<String> method = regex ? m.regex("method") : m.string("method");
      if (!regex) {
        if (service.isPresent() && !GRPC_SERVICE.matcher(service.get()).matches()) {
          m.error(
              "service",
              "'" + service.get() + "' (expected: a gRPC service such as shop.v1.Checkout)");
          valid = false;
        }
        if (method.isPresent() && !GRPC_METHOD.matcher(method.get()).matches()) {
          m.error("method", "'" + method.get() + "' (expected: a gRPC method such as Pay)");
          valid = false;
        }
      }
      if (service.isEmpty() && method.isEmpty()) {
        if (!m.has("service") && !m.has("method")) {
          m.error(null, "empty (expected: service and/or method)");
        }
        valid = false;
      }
      m.end();
      exact = !regex && service.isPresent() && method.isPresent();
      length = service.orElse("").length() + method.orElse("").length();
      if (valid) {
        if (regex) {
          path =
              new StringMatch(
                  StringMatch.Type.REGEX,
                  "/(?:" + service.orElse("[^/]+") + ")/(?:" + method.orElse("[^/]+") + ")");
        } else if (service.isPresent() && method.isPresent()) {
          path = new StringMatch(StringMatch.Type.EXACT, "/" + service.get() + "/" + method.get());
        } else if (service.isPresent()) {
          path = new StringMatch(StringMatch.Type.PREFIX, "/" + service.get() + "/");
        } else {
          path = new StringMatch(StringMatch.Type.REGEX, "/[^/]+/" + method.get());
        }
      }
    }
    Map<String, StringMatch> headers = namedMatches(match, "headers", true);
    match.end();
    if (!valid) {
      return Optional.empty();
    }
    // GRPCRoute ranks by the characters of the service, then of the method, then by headers.
    Precedence precedence =
        new Precedence(
            exact ? Precedence.EXACT : Precedence.PREFIX, length, false, headers.size(), 0);
    return Optional.of(new Written(path, Optional.empty(), headers, Map.of(), precedence));
  }

  /** {@code headers} or {@code queryParams}: name, value and type Exact or RegularExpression. */
  private static Map<String, StringMatch> namedMatches(
      Fields match, String field, boolean headers) {
    Map<String, StringMatch> result = new LinkedHashMap<>();
    for (Fields entry : match.objects(field)) {
      Optional<String> name = entry.requiredString("name");
      String type = entry.oneOf("type", "Exact", "RegularExpression").orElse("Exact");
      Optional<String> value =
          type.equals("RegularExpression") ? entry.regex("value") : entry.string("value");
      if (!entry.has("value")) {
        entry.error("value", "missing (expected: a string)");
      }
      if (name.isPresent() && !HEADER_NAME.matcher(name.get()).matches()) {
        entry.error(
            "name",
            "'"
                + name.get()
                + "' (expected: "
                + (headers ? "an HTTP header name" : "a query parameter name")
                + ")");
        name = Optional.empty();
      }
      entry.end();
      if (name.isEmpty() || value.isEmpty()) {
        continue;
      }
      // Header names are case-insensitive; query parameter names are not.
      String key = headers ? name.get().toLowerCase(Locale.ROOT) : name.get();
      if (result.containsKey(key)) {
        entry.error("name", "'" + name.get() + "' is matched twice (expected: each name once)");
        continue;
      }
      result.put(
          key,
          new StringMatch(
              type.equals("Exact") ? StringMatch.Type.EXACT : StringMatch.Type.REGEX, value.get()));
    }
    return result;
  }

  /** {@code filters} of a rule, each type at most once; {@code allowed} are the types enforced. */
  private static Filters filters(Fields rule, List<String> allowed) {
    Filters result = new Filters();
    Set<String> seen = new TreeSet<>();
    HeaderOperations request = HeaderOperations.NONE;
    HeaderOperations response = HeaderOperations.NONE;
    for (Fields filter : rule.objects("filters")) {
      Optional<String> type = filter.requiredString("type");
      if (type.isEmpty()) {
        FILTER_FIELDS.values().forEach(filter::ignored);
        filter.end();
        continue;
      }
      String t = type.get();
      if (!FILTER_FIELDS.containsKey(t)) {
        filter.error("type", "'" + t + "' (expected: one of " + String.join(", ", allowed) + ")");
        FILTER_FIELDS.values().forEach(filter::ignored);
        filter.end();
        continue;
      }
      for (Map.Entry<String, String> other : FILTER_FIELDS.entrySet()) {
        if (!other.getKey().equals(t) && filter.has(other.getValue())) {
          filter.error(
              other.getValue(),
              "set in a filter of type " + t + " (expected: only " + FILTER_FIELDS.get(t) + ")");
        }
        if (!other.getKey().equals(t)) {
          filter.ignored(other.getValue());
        }
      }
      String field = FILTER_FIELDS.get(t);
      if (!allowed.contains(t)) {
        filter.error(
            "type",
            "'"
                + t
                + "' not supported ("
                + (REFUSED_FILTERS.containsKey(t) ? REFUSED_FILTERS.get(t) + "; " : "")
                + "expected: one of "
                + String.join(", ", allowed)
                + ")");
        filter.ignored(field);
        filter.end();
        continue;
      }
      if (!seen.add(t)) {
        filter.error("type", "'" + t + "' twice (expected: each filter type at most once)");
      }
      Optional<Fields> settings = filter.object(field);
      if (settings.isEmpty()) {
        if (!filter.has(field)) {
          filter.error(field, "missing (expected: the settings of a " + t + " filter)");
        }
        filter.end();
        continue;
      }
      switch (t) {
        case "RequestHeaderModifier" -> request = headerModifier(settings.get());
        case "ResponseHeaderModifier" -> response = headerModifier(settings.get());
        case "URLRewrite" -> urlRewrite(settings.get(), result);
        default -> result.redirect = Optional.of(redirect(settings.get()));
      }
      filter.end();
    }
    if (seen.contains("RequestRedirect") && seen.contains("URLRewrite")) {
      rule.error(
          "filters",
          "sets URLRewrite and RequestRedirect (expected: one of them, as Gateway API requires)");
    }
    if (seen.contains("RequestRedirect")
        && (seen.contains("RequestHeaderModifier") || seen.contains("ResponseHeaderModifier"))) {
      rule.error(
          "filters",
          "sets header modifiers with RequestRedirect, which answers without forwarding (expected:"
              + " a RequestRedirect alone)");
    }
    result.headers = new HeaderChanges(request, response);
    return result;
  }

  /** RequestHeaderModifier or ResponseHeaderModifier: {@code set}, {@code add}, {@code remove}. */
  private static HeaderOperations headerModifier(Fields modifier) {
    Set<String> names = new TreeSet<>();
    Map<String, String> set = headerValues(modifier, "set", names);
    Map<String, String> add = headerValues(modifier, "add", names);
    List<String> remove = new ArrayList<>();
    List<String> written = modifier.strings("remove");
    for (int i = 0; i < written.size(); i++) {
      String name = written.get(i);
      if (checkHeaderName(modifier, "remove[" + i + "]", name)) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (!names.add(lower)) {
          modifier.error(
              "remove[" + i + "]",
              "'" + name + "' is changed twice (expected: each header in one of set, add, remove)");
        }
        remove.add(lower);
      }
    }
    if (!modifier.has("set") && !modifier.has("add") && !modifier.has("remove")) {
      modifier.error(null, "empty (expected: set, add or remove)");
    }
    modifier.end();
    return new HeaderOperations(set, add, remove);
  }

  private static Map<String, String> headerValues(
      Fields modifier, String field, Set<String> names) {
    Map<String, String> result = new LinkedHashMap<>();
    for (Fields header : modifier.objects(field)) {
      Optional<String> name = header.requiredString("name");
      Optional<String> value = header.string("value");
      if (!header.has("value")) {
        header.error("value", "missing (expected: a string)");
      }
      if (name.isPresent() && checkHeaderName(header, "name", name.get()) && value.isPresent()) {
        String lower = name.get().toLowerCase(Locale.ROOT);
        if (!names.add(lower)) {
          header.error(
              "name",
              "'"
                  + name.get()
                  + "' is changed twice (expected: each header in one of set, add, remove)");
        }
        result.put(lower, value.get());
      }
      header.end();
    }
    return result;
  }

  private static boolean checkHeaderName(Fields fields, String field, String name) {
    if (!HEADER_NAME.matcher(name).matches()) {
      fields.error(field, "'" + name + "' (expected: an HTTP header name)");
      return false;
    }
    if (name.equalsIgnoreCase("host")) {
      fields.error(field, "'" + name + "' (expected: a URLRewrite filter's hostname to change it)");
      return false;
    }
    return true;
  }

  private static void urlRewrite(Fields rewrite, Filters result) {
    Optional<String> hostname = rewrite.string("hostname");
    if (hostname.isPresent() && (!Hosts.valid(hostname.get()) || hostname.get().contains("*"))) {
      rewrite.error(
          "hostname", "'" + hostname.get() + "' (expected: a host name such as checkout.example)");
      hostname = Optional.empty();
    }
    result.rewriteHost = hostname;
    result.rewritePath = rewrite.object("path").flatMap(GatewayRoute::pathModifier);
    if (!rewrite.has("hostname") && !rewrite.has("path")) {
      rewrite.error(null, "empty (expected: hostname and/or path)");
    }
    rewrite.end();
  }

  /** A path modifier: ReplaceFullPath as EXACT, ReplacePrefixMatch as PREFIX. */
  private static Optional<StringMatch> pathModifier(Fields path) {
    Optional<String> type = path.oneOf("type", "ReplaceFullPath", "ReplacePrefixMatch");
    if (type.isEmpty() && !path.has("type")) {
      path.error("type", "missing (expected: ReplaceFullPath or ReplacePrefixMatch)");
    }
    boolean full = type.isPresent() && type.get().equals("ReplaceFullPath");
    String field = full ? "replaceFullPath" : "replacePrefixMatch";
    Optional<String> value = path.string(field);
    path.ignored(full ? "replacePrefixMatch" : "replaceFullPath");
    if (type.isPresent() && path.has(full ? "replacePrefixMatch" : "replaceFullPath")) {
      path.error(
          full ? "replacePrefixMatch" : "replaceFullPath",
          "set with type " + type.get() + " (expected: only " + field + ")");
    }
    if (type.isPresent() && value.isEmpty() && !path.has(field)) {
      path.error(field, "missing (expected: a path such as /v2)");
    }
    String v = value.orElse("");
    boolean valid = v.isEmpty() ? !full : validPath(v);
    if (value.isPresent() && !valid) {
      path.error(
          field,
          "'"
              + v
              + "' (expected: an absolute path such as /v2, without '//', '/./', '/../', '?', '#'"
              + " or '\\')");
    }
    path.end();
    if (type.isEmpty() || (value.isEmpty() && full) || !valid) {
      return Optional.empty();
    }
    return Optional.of(new StringMatch(full ? StringMatch.Type.EXACT : StringMatch.Type.PREFIX, v));
  }

  private static VirtualService.Redirect redirect(Fields redirect) {
    String scheme = redirect.oneOf("scheme", "http", "https").orElse("");
    Optional<String> hostname = redirect.string("hostname");
    if (hostname.isPresent() && (!Hosts.valid(hostname.get()) || hostname.get().contains("*"))) {
      redirect.error(
          "hostname", "'" + hostname.get() + "' (expected: a host name such as checkout.example)");
    }
    OptionalInt port =
        redirect.int32("port", 1, 65535).map(OptionalInt::of).orElse(OptionalInt.empty());
    if (port.isEmpty() && !scheme.isEmpty()) {
      // Gateway API: without a port, a redirect to a scheme goes to that scheme's own port.
      port = OptionalInt.of(scheme.equals("https") ? 443 : 80);
    }
    String uri = "";
    Optional<Fields> path = redirect.object("path");
    if (path.isPresent()) {
      Optional<StringMatch> modifier = pathModifier(path.get());
      if (modifier.isPresent() && modifier.get().type() == StringMatch.Type.PREFIX) {
        redirect.error(
            "path.type",
            "'ReplacePrefixMatch' not supported in a redirect (expected: ReplaceFullPath)");
      } else if (modifier.isPresent()) {
        uri = modifier.get().value();
      }
    }
    int code = redirect.int32("statusCode", 300, 399).orElse(302);
    if (!List.of(301, 302, 303, 307, 308).contains(code)) {
      redirect.error("statusCode", code + " (expected: 301, 302, 303, 307 or 308)");
    }
    redirect.end();
    return new VirtualService.Redirect(uri, hostname.orElse(""), port, scheme, code);
  }

  /**
   * {@code backendRefs}: Services, each with a port and a relative weight (default 1). Backends of
   * weight 0 take no traffic and are left out. No ReferenceGrant is needed for another namespace's
   * Service: policies are applied by the mesh's operator, and a VirtualService may name any host.
   */
  private static List<Destination> backends(Fields rule, String ns) {
    List<Destination> result = new ArrayList<>();
    for (Fields ref : rule.objects("backendRefs")) {
      Optional<String> group = ref.string("group");
      Optional<String> kind = ref.string("kind");
      boolean valid = true;
      if (group.isPresent() && !group.get().isEmpty() && !group.get().equals("core")) {
        ref.error(
            "group", "'" + group.get() + "' (expected: \"\" or core, the group of a Service)");
        valid = false;
      }
      if (kind.isPresent() && !kind.get().equals("Service")) {
        ref.error("kind", "'" + kind.get() + "' not supported (expected: Service)");
        valid = false;
      }
      Optional<String> name = ref.requiredString("name");
      if (name.isPresent() && !ObjectMeta.DNS_LABEL.matcher(name.get()).matches()) {
        ref.error("name", "'" + name.get() + "' (expected: a Service name, a DNS label)");
        valid = false;
      }
      Optional<String> namespace = ref.string("namespace");
      if (namespace.isPresent() && !ObjectMeta.DNS_LABEL.matcher(namespace.get()).matches()) {
        ref.error("namespace", "'" + namespace.get() + "' (expected: a DNS label)");
        valid = false;
      }
      Optional<Integer> port = ref.int32("port", 1, 65535);
      if (port.isEmpty() && !ref.has("port")) {
        ref.error("port", "missing (expected: the Service port, as Gateway API requires)");
      }
      int weight = ref.int32("weight", 0, MAX_WEIGHT).orElse(1);
      Filters filters = filters(ref, List.of("RequestHeaderModifier", "ResponseHeaderModifier"));
      ref.end();
      if (valid && name.isPresent() && port.isPresent() && weight > 0) {
        result.add(
            new Destination(
                Hosts.qualify(name.get() + "." + namespace.orElse(ns), ns),
                "",
                OptionalInt.of(port.get()),
                weight,
                filters.headers));
      }
    }
    return result;
  }

  /** A Gateway API duration: {@code 10s}, {@code 500ms}, {@code 1h30m}; {@code 0s} for none. */
  private static Optional<Duration> gatewayDuration(Fields fields, String field) {
    Optional<String> value = fields.string(field);
    if (value.isEmpty()) {
      return Optional.empty();
    }
    Optional<Duration> duration =
        GATEWAY_DURATION.matcher(value.get()).matches()
            ? PolicyDurations.parse(value.get())
            : Optional.empty();
    if (duration.isEmpty()) {
      fields.error(
          field,
          "'"
              + value.get()
              + "' (expected: a Gateway API duration such as 10s, 500ms or 1m30s: whole numbers"
              + " with units h, m, s or ms)");
    }
    return duration;
  }
}
