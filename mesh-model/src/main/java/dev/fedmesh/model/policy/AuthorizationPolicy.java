package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.model.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Istio's {@code AuthorizationPolicy}: which requests selected workloads accept (ALLOW), refuse
 * (DENY) or log (AUDIT), by the caller's identity, namespace and address, the request's host, path,
 * method and port, and conditions on headers. With ALLOW policies present, a request no rule allows
 * is refused; DENY is checked first.
 *
 * @param action ALLOW, DENY or AUDIT
 * @param rules empty for an ALLOW policy means "allow nothing"; for DENY, "deny nothing"
 */
public record AuthorizationPolicy(
    ObjectMeta metadata, WorkloadSelector selector, String action, List<Rule> rules)
    implements Policy {

  public static final String ALLOW = "ALLOW";
  public static final String DENY = "DENY";
  public static final String AUDIT = "AUDIT";

  /** The {@code when} keys fedmesh enforces. */
  public static final List<String> CONDITION_KEYS =
      List.of(
          "source.principal",
          "source.namespace",
          "source.ip",
          "destination.port",
          "request.headers[NAME]");

  public AuthorizationPolicy {
    requireNonNull(metadata, "metadata");
    requireNonNull(selector, "selector");
    requireNonNull(action, "action");
    rules = List.copyOf(rules);
  }

  @Override
  public AuthorizationPolicy withMetadata(ObjectMeta metadata) {
    return new AuthorizationPolicy(metadata, selector, action, rules);
  }

  @Override
  public PolicyKind kind() {
    return PolicyKind.AUTHORIZATION_POLICY;
  }

  /** A rule matches when one source, one operation and every condition match (absent: any). */
  public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
    public Rule {
      from = List.copyOf(from);
      to = List.copyOf(to);
      when = List.copyOf(when);
    }
  }

  /** Who calls: SPIFFE principals and namespaces (mutual TLS only), and addresses. */
  public record Source(
      List<String> principals,
      List<String> notPrincipals,
      List<String> namespaces,
      List<String> notNamespaces,
      List<String> ipBlocks,
      List<String> notIpBlocks) {}

  /** What is called. Ports are the workload's own. */
  public record Operation(
      List<String> hosts,
      List<String> notHosts,
      List<Integer> ports,
      List<Integer> notPorts,
      List<String> methods,
      List<String> notMethods,
      List<String> paths,
      List<String> notPaths) {
    /** Whether the operation names anything only HTTP has (so a TCP connection cannot match it). */
    public boolean httpOnly() {
      return !hosts.isEmpty()
          || !notHosts.isEmpty()
          || !methods.isEmpty()
          || !notMethods.isEmpty()
          || !paths.isEmpty()
          || !notPaths.isEmpty();
    }
  }

  /**
   * @param key one of {@link #CONDITION_KEYS}, with the header's name for {@code request.headers}
   */
  public record Condition(String key, List<String> values, List<String> notValues) {
    public Condition {
      values = List.copyOf(values);
      notValues = List.copyOf(notValues);
    }

    public boolean httpOnly() {
      return key.startsWith("request.");
    }
  }

  static AuthorizationPolicy parse(ObjectMeta metadata, Fields spec) {
    WorkloadSelector selector = WorkloadSelector.parse(spec);
    String action = spec.oneOf("action", ALLOW, DENY, AUDIT, "CUSTOM").orElse(ALLOW);
    if (action.equals("CUSTOM")) {
      spec.error(
          "action",
          "'CUSTOM' not supported (expected: ALLOW, DENY or AUDIT; external authorization is not built in)");
    }
    spec.unsupported("provider", "external authorization");
    spec.unsupported("targetRef");
    spec.unsupported("targetRefs");
    List<Rule> rules = spec.list("rules", AuthorizationPolicy::rule);
    spec.end();
    return new AuthorizationPolicy(metadata, selector, action, rules);
  }

  private static Rule rule(Fields rule) {
    List<Source> from = new ArrayList<>();
    for (Fields entry : rule.objects("from")) {
      Optional<Fields> source = entry.object("source");
      if (source.isEmpty()) {
        entry.error("source", "missing (expected: an object)");
      } else {
        from.add(source(source.get()));
      }
      entry.end();
    }
    List<Operation> to = new ArrayList<>();
    for (Fields entry : rule.objects("to")) {
      Optional<Fields> operation = entry.object("operation");
      if (operation.isEmpty()) {
        entry.error("operation", "missing (expected: an object)");
      } else {
        to.add(operation(operation.get()));
      }
      entry.end();
    }
    List<Condition> when = rule.list("when", AuthorizationPolicy::condition);
    rule.end();
    return new Rule(from, to, when);
  }

  private static Source source(Fields source) {
    List<String> principals = patterns(source, "principals");
    List<String> notPrincipals = patterns(source, "notPrincipals");
    List<String> namespaces = patterns(source, "namespaces");
    List<String> notNamespaces = patterns(source, "notNamespaces");
    List<String> ipBlocks = cidrs(source, "ipBlocks");
    List<String> notIpBlocks = cidrs(source, "notIpBlocks");
    for (String field : List.of("requestPrincipals", "notRequestPrincipals")) {
      source.unsupported(field, "JWT authentication (RequestAuthentication) is not built in");
    }
    for (String field : List.of("remoteIpBlocks", "notRemoteIpBlocks")) {
      source.unsupported(field, "use ipBlocks; sidecars see the peer's own address");
    }
    source.unsupported("serviceAccounts", "use principals");
    source.unsupported("notServiceAccounts", "use notPrincipals");
    source.end();
    return new Source(principals, notPrincipals, namespaces, notNamespaces, ipBlocks, notIpBlocks);
  }

  private static Operation operation(Fields operation) {
    Operation result =
        new Operation(
            patterns(operation, "hosts"),
            patterns(operation, "notHosts"),
            ports(operation, "ports"),
            ports(operation, "notPorts"),
            operation.strings("methods"),
            operation.strings("notMethods"),
            patterns(operation, "paths"),
            patterns(operation, "notPaths"));
    operation.end();
    return result;
  }

  private static Condition condition(Fields condition) {
    String key = condition.requiredString("key").orElse("");
    boolean header = key.matches("request\\.headers\\[[^\\]]+\\]");
    if (!key.isEmpty() && !header && !CONDITION_KEYS.contains(key)) {
      condition.error(
          "key",
          "'"
              + key
              + "' not supported (expected: one of "
              + String.join(", ", CONDITION_KEYS)
              + ")");
    }
    List<String> values = condition.strings("values");
    List<String> notValues = condition.strings("notValues");
    if (values.isEmpty() && notValues.isEmpty()) {
      condition.error(null, "has neither values nor notValues (expected: at least one)");
    }
    if (key.equals("destination.port")) {
      for (String value : values) {
        checkPort(condition, "values", value);
      }
      for (String value : notValues) {
        checkPort(condition, "notValues", value);
      }
    }
    if (key.equals("source.ip")) {
      for (String value : values) {
        checkCidr(condition, "values", value);
      }
      for (String value : notValues) {
        checkCidr(condition, "notValues", value);
      }
    }
    condition.end();
    return new Condition(key, values, notValues);
  }

  /** Istio's string patterns: exact, {@code prefix*}, {@code *suffix} or {@code *}. */
  private static List<String> patterns(Fields fields, String field) {
    List<String> values = fields.strings(field);
    for (int i = 0; i < values.size(); i++) {
      String value = values.get(i);
      int stars = value.length() - value.replace("*", "").length();
      if (value.isEmpty()
          || stars > 1
          || (stars == 1 && !value.startsWith("*") && !value.endsWith("*"))) {
        fields.error(
            field + "[" + i + "]",
            "'" + value + "' (expected: an exact value, prefix*, *suffix or *)");
      }
    }
    return values;
  }

  private static List<Integer> ports(Fields fields, String field) {
    List<Integer> ports = new ArrayList<>();
    List<String> values = fields.strings(field);
    for (int i = 0; i < values.size(); i++) {
      if (checkPort(fields, field + "[" + i + "]", values.get(i))) {
        ports.add(Integer.parseInt(values.get(i)));
      }
    }
    return ports;
  }

  private static boolean checkPort(Fields fields, String field, String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 1 && port <= 65535) {
        return true;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    fields.error(field, "'" + value + "' (expected: a port number 1..65535, as a string)");
    return false;
  }

  private static List<String> cidrs(Fields fields, String field) {
    List<String> values = fields.strings(field);
    for (int i = 0; i < values.size(); i++) {
      checkCidr(fields, field + "[" + i + "]", values.get(i));
    }
    return values;
  }

  private static void checkCidr(Fields fields, String field, String value) {
    try {
      Cidr.parse(value.contains("/") ? value : value + (value.contains(":") ? "/128" : "/32"));
    } catch (IllegalArgumentException e) {
      fields.error(field, "'" + value + "' (expected: an IP address or CIDR block)");
    }
  }
}
