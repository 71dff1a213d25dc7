package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.model.XdsNames;
import dev.fedmesh.model.policy.AuthorizationPolicy;
import dev.fedmesh.model.policy.AuthorizationPolicy.Condition;
import dev.fedmesh.model.policy.AuthorizationPolicy.Operation;
import dev.fedmesh.model.policy.AuthorizationPolicy.Rule;
import dev.fedmesh.model.policy.AuthorizationPolicy.Source;
import dev.fedmesh.model.policy.PeerAuthentication;
import dev.fedmesh.model.policy.PolicySet;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A sidecar's inbound policy as Envoy's {@code virtualInbound} listener (Istio's shape):
 * PeerAuthentication becomes filter chains per port and transport (STRICT: TLS only; PERMISSIVE:
 * TLS and plain text; DISABLE: plain text only), AuthorizationPolicy becomes RBAC filters, HTTP in
 * each chain's connection manager and network for opaque TCP. Only workloads that some policy
 * applies to get the listener; others keep the sidecar's defaults.
 *
 * <p>For TCP, rules that name anything only HTTP has are translated as Istio does: an ALLOW rule
 * with HTTP-only conditions can never match a connection and is left out; a DENY rule loses those
 * conditions and so denies more. fedmesh's sidecar applies a chain's network RBAC to opaque TCP
 * connections only and the HTTP RBAC to requests.
 */
final class InboundPolicy {
  static final String HTTP_RBAC = "envoy.filters.http.rbac";
  static final String NETWORK_RBAC = "envoy.filters.network.rbac";

  private InboundPolicy() {}

  /** The inbound listener of a sidecar workload, when a policy applies to it. */
  static Optional<Listener> listener(PolicySet policies, ProxyContext proxy, TransportSocket tls) {
    if (proxy.role() != ProxyRole.SIDECAR
        || !policies.securesWorkload(proxy.namespace(), proxy.labels())) {
      return Optional.empty();
    }
    PolicySet.PeerModes modes = policies.peerModesFor(proxy.namespace(), proxy.labels());
    List<AuthorizationPolicy> authorization =
        policies.authorizationFor(proxy.namespace(), proxy.labels());
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(XdsNames.VIRTUAL_INBOUND)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15006)));
    for (Map.Entry<Integer, String> port : new java.util.TreeMap<>(modes.ports()).entrySet()) {
      addChains(listener, port.getKey(), port.getValue(), authorization, tls);
    }
    addChains(listener, 0, modes.mode(), authorization, tls);
    return Optional.of(listener.build());
  }

  private static void addChains(
      Listener.Builder listener,
      int port,
      String mode,
      List<AuthorizationPolicy> authorization,
      TransportSocket tls) {
    String suffix = port == 0 ? "" : "_" + port;
    if (!mode.equals(PeerAuthentication.DISABLE)) {
      listener.addFilterChains(
          chain("inbound_mtls" + suffix, port, "tls", authorization).setTransportSocket(tls));
    }
    if (!mode.equals(PeerAuthentication.STRICT)) {
      listener.addFilterChains(
          chain("inbound_plaintext" + suffix, port, "raw_buffer", authorization));
    }
  }

  private static FilterChain.Builder chain(
      String name, int port, String transport, List<AuthorizationPolicy> authorization) {
    FilterChainMatch.Builder match = FilterChainMatch.newBuilder().setTransportProtocol(transport);
    if (port > 0) {
      match.setDestinationPort(UInt32Value.of(port));
    }
    FilterChain.Builder chain = FilterChain.newBuilder().setName(name).setFilterChainMatch(match);
    for (String action :
        List.of(AuthorizationPolicy.DENY, AuthorizationPolicy.ALLOW, AuthorizationPolicy.AUDIT)) {
      rbac(authorization, action, true)
          .ifPresent(
              rules ->
                  chain.addFilters(
                      Filter.newBuilder()
                          .setName(NETWORK_RBAC)
                          .setTypedConfig(
                              Any.pack(
                                  io.envoyproxy
                                      .envoy
                                      .extensions
                                      .filters
                                      .network
                                      .rbac
                                      .v3
                                      .RBAC
                                      .newBuilder()
                                      .setStatPrefix("tcp.")
                                      .setRules(rules)
                                      .build()))));
    }
    HttpConnectionManager.Builder manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(name)
            .setRouteConfig(
                RouteConfiguration.newBuilder()
                    .setName(name)
                    .addVirtualHosts(
                        VirtualHost.newBuilder()
                            .setName("inbound")
                            .addDomains("*")
                            .addRoutes(
                                Route.newBuilder()
                                    .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                    .setRoute(
                                        RouteAction.newBuilder()
                                            .setCluster(XdsNames.PASSTHROUGH_CLUSTER)))));
    for (String action :
        List.of(AuthorizationPolicy.DENY, AuthorizationPolicy.ALLOW, AuthorizationPolicy.AUDIT)) {
      rbac(authorization, action, false)
          .ifPresent(
              rules ->
                  manager.addHttpFilters(
                      HttpFilter.newBuilder()
                          .setName(HTTP_RBAC)
                          .setTypedConfig(
                              Any.pack(
                                  io.envoyproxy
                                      .envoy
                                      .extensions
                                      .filters
                                      .http
                                      .rbac
                                      .v3
                                      .RBAC
                                      .newBuilder()
                                      .setRules(rules)
                                      .build()))));
    }
    manager.addHttpFilters(
        HttpFilter.newBuilder()
            .setName(ConfigGenerator.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())));
    chain.addFilters(
        Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager")
            .setTypedConfig(Any.pack(manager.build())));
    return chain;
  }

  /**
   * The RBAC rules of every policy with {@code action}, or empty when none has it. An ALLOW policy
   * without rules allows nothing, so the filter exists and denies everything it does not allow.
   */
  static Optional<RBAC> rbac(List<AuthorizationPolicy> policies, String action, boolean tcp) {
    RBAC.Builder rbac =
        RBAC.newBuilder()
            .setAction(
                switch (action) {
                  case AuthorizationPolicy.DENY -> RBAC.Action.DENY;
                  case AuthorizationPolicy.AUDIT -> RBAC.Action.LOG;
                  default -> RBAC.Action.ALLOW;
                });
    boolean any = false;
    for (AuthorizationPolicy policy : policies) {
      if (!policy.action().equals(action)) {
        continue;
      }
      any = true;
      for (int i = 0; i < policy.rules().size(); i++) {
        Optional<Policy> translated = policy(policy.rules().get(i), action, tcp);
        if (translated.isPresent()) {
          rbac.putPolicies(
              "ns["
                  + policy.metadata().namespace()
                  + "]-policy["
                  + policy.metadata().name()
                  + "]-rule["
                  + i
                  + "]",
              translated.get());
        }
      }
    }
    return any ? Optional.of(rbac.build()) : Optional.empty();
  }

  /** One rule: one of its sources and one of its operations, and every condition. */
  private static Optional<Policy> policy(Rule rule, String action, boolean tcp) {
    boolean allow = !action.equals(AuthorizationPolicy.DENY);
    List<Permission> operations = new ArrayList<>();
    for (Operation operation : rule.to()) {
      if (tcp && operation.httpOnly() && allow) {
        continue; // a connection never matches it
      }
      operations.add(operation(operation, tcp));
    }
    if (!rule.to().isEmpty() && operations.isEmpty()) {
      return Optional.empty();
    }
    List<Permission> permissions = new ArrayList<>();
    permissions.add(operations.isEmpty() ? any() : or(operations));
    List<Principal> principals = new ArrayList<>();
    if (!rule.from().isEmpty()) {
      List<Principal> sources = new ArrayList<>();
      rule.from().forEach(source -> sources.add(source(source)));
      principals.add(orIds(sources));
    }
    for (Condition condition : rule.when()) {
      if (condition.httpOnly() && tcp) {
        if (allow) {
          return Optional.empty();
        }
        continue;
      }
      if (condition.key().equals("destination.port")) {
        permissions.add(
            values(
                condition,
                value ->
                    Permission.newBuilder().setDestinationPort(Integer.parseInt(value)).build(),
                PERMISSIONS));
      } else {
        principals.add(principalCondition(condition));
      }
    }
    return Optional.of(
        Policy.newBuilder()
            .addPermissions(and(permissions))
            .addPrincipals(principals.isEmpty() ? anyone() : andIds(principals))
            .build());
  }

  private static Permission operation(Operation operation, boolean tcp) {
    List<Permission> parts = new ArrayList<>();
    if (!tcp) {
      add(
          parts,
          operation.hosts(),
          operation.notHosts(),
          h -> header(":authority", h, true),
          PERMISSIONS);
      add(
          parts,
          operation.methods(),
          operation.notMethods(),
          m -> header(":method", m, false),
          PERMISSIONS);
      add(parts, operation.paths(), operation.notPaths(), InboundPolicy::path, PERMISSIONS);
    }
    List<String> ports = operation.ports().stream().map(String::valueOf).toList();
    List<String> notPorts = operation.notPorts().stream().map(String::valueOf).toList();
    add(
        parts,
        ports,
        notPorts,
        port -> Permission.newBuilder().setDestinationPort(Integer.parseInt(port)).build(),
        PERMISSIONS);
    return parts.isEmpty() ? any() : and(parts);
  }

  /** How rules combine: any of, all of, none of; Envoy spells it for permissions and principals. */
  private record Logic<T>(
      java.util.function.Function<List<T>, T> or,
      java.util.function.Function<List<T>, T> and,
      java.util.function.UnaryOperator<T> not) {}

  private static final Logic<Permission> PERMISSIONS =
      new Logic<>(
          InboundPolicy::or,
          InboundPolicy::and,
          p -> Permission.newBuilder().setNotRule(p).build());

  private static final Logic<Principal> PRINCIPALS =
      new Logic<>(
          InboundPolicy::orIds,
          InboundPolicy::andIds,
          p -> Principal.newBuilder().setNotId(p).build());

  /** Adds "one of {@code values}" and "none of {@code notValues}", each when given. */
  private static <T> void add(
      List<T> parts,
      List<String> values,
      List<String> notValues,
      java.util.function.Function<String, T> each,
      Logic<T> logic) {
    if (!values.isEmpty()) {
      parts.add(logic.or().apply(values.stream().map(each).toList()));
    }
    if (!notValues.isEmpty()) {
      parts.add(logic.not().apply(logic.or().apply(notValues.stream().map(each).toList())));
    }
  }

  private static Principal source(Source source) {
    List<Principal> parts = new ArrayList<>();
    add(parts, source.principals(), source.notPrincipals(), InboundPolicy::principal, PRINCIPALS);
    add(parts, source.namespaces(), source.notNamespaces(), InboundPolicy::namespace, PRINCIPALS);
    add(parts, source.ipBlocks(), source.notIpBlocks(), InboundPolicy::address, PRINCIPALS);
    return parts.isEmpty() ? anyone() : andIds(parts);
  }

  private static Principal principalCondition(Condition condition) {
    java.util.function.Function<String, Principal> each =
        switch (condition.key()) {
          case "source.principal" -> InboundPolicy::principal;
          case "source.namespace" -> InboundPolicy::namespace;
          case "source.ip" -> InboundPolicy::address;
          default -> {
            String name =
                condition
                    .key()
                    .substring("request.headers[".length(), condition.key().length() - 1);
            yield value ->
                Principal.newBuilder()
                    .setHeader(headerMatcher(name.toLowerCase(java.util.Locale.ROOT), value, false))
                    .build();
          }
        };
    return values(condition, each, PRINCIPALS);
  }

  private static <T> T values(
      Condition condition, java.util.function.Function<String, T> each, Logic<T> logic) {
    List<T> parts = new ArrayList<>();
    add(parts, condition.values(), condition.notValues(), each, logic);
    return logic.and().apply(parts);
  }

  /** Istio's principal {@code td/ns/x/sa/y} (with * patterns) as the peer's SPIFFE ID. */
  private static Principal principal(String pattern) {
    Principal.Authenticated.Builder authenticated = Principal.Authenticated.newBuilder();
    if (!pattern.equals("*")) {
      authenticated.setPrincipalName(pattern(pattern, "spiffe://"));
    }
    return Principal.newBuilder().setAuthenticated(authenticated).build();
  }

  /** A namespace (with * patterns): the namespace part of the peer's SPIFFE ID. */
  private static Principal namespace(String pattern) {
    String namespace = Pattern.quote(pattern).replace("*", "\\E.*\\Q");
    return Principal.newBuilder()
        .setAuthenticated(
            Principal.Authenticated.newBuilder()
                .setPrincipalName(
                    StringMatcher.newBuilder()
                        .setSafeRegex(
                            RegexMatcher.newBuilder()
                                .setRegex("spiffe://[^/]+/ns/" + namespace + "/sa/[^/]+"))))
        .build();
  }

  private static Principal address(String block) {
    String[] parts = block.split("/", 2);
    int length =
        parts.length == 2 ? Integer.parseInt(parts[1]) : (parts[0].contains(":") ? 128 : 32);
    return Principal.newBuilder()
        .setDirectRemoteIp(
            CidrRange.newBuilder().setAddressPrefix(parts[0]).setPrefixLen(UInt32Value.of(length)))
        .build();
  }

  private static Permission header(String name, String pattern, boolean ignoreCase) {
    return Permission.newBuilder().setHeader(headerMatcher(name, pattern, ignoreCase)).build();
  }

  private static HeaderMatcher headerMatcher(String name, String pattern, boolean ignoreCase) {
    HeaderMatcher.Builder header = HeaderMatcher.newBuilder().setName(name);
    if (pattern.equals("*")) {
      return header.setPresentMatch(true).build();
    }
    return header
        .setStringMatch(pattern(pattern, "").toBuilder().setIgnoreCase(ignoreCase))
        .build();
  }

  private static Permission path(String pattern) {
    StringMatcher matcher =
        pattern.equals("*")
            ? StringMatcher.newBuilder().setPrefix("/").build()
            : pattern(pattern, "");
    return Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(matcher)).build();
  }

  /** Istio's exact, {@code prefix*}, {@code *suffix} and {@code *} patterns as a matcher. */
  private static StringMatcher pattern(String pattern, String fixedPrefix) {
    if (pattern.equals("*")) {
      return StringMatcher.newBuilder()
          .setSafeRegex(RegexMatcher.newBuilder().setRegex(Pattern.quote(fixedPrefix) + ".+"))
          .build();
    }
    if (pattern.endsWith("*")) {
      return StringMatcher.newBuilder()
          .setPrefix(fixedPrefix + pattern.substring(0, pattern.length() - 1))
          .build();
    }
    if (pattern.startsWith("*")) {
      if (fixedPrefix.isEmpty()) {
        return StringMatcher.newBuilder().setSuffix(pattern.substring(1)).build();
      }
      return StringMatcher.newBuilder()
          .setSafeRegex(
              RegexMatcher.newBuilder()
                  .setRegex(
                      Pattern.quote(fixedPrefix) + ".*" + Pattern.quote(pattern.substring(1))))
          .build();
    }
    return StringMatcher.newBuilder().setExact(fixedPrefix + pattern).build();
  }

  private static Permission any() {
    return Permission.newBuilder().setAny(true).build();
  }

  private static Principal anyone() {
    return Principal.newBuilder().setAny(true).build();
  }

  private static Permission or(List<Permission> rules) {
    return rules.size() == 1
        ? rules.get(0)
        : Permission.newBuilder()
            .setOrRules(Permission.Set.newBuilder().addAllRules(rules))
            .build();
  }

  private static Permission and(List<Permission> rules) {
    return rules.size() == 1
        ? rules.get(0)
        : Permission.newBuilder()
            .setAndRules(Permission.Set.newBuilder().addAllRules(rules))
            .build();
  }

  private static Principal orIds(List<Principal> ids) {
    return ids.size() == 1
        ? ids.get(0)
        : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  private static Principal andIds(List<Principal> ids) {
    return ids.size() == 1
        ? ids.get(0)
        : Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }
}
