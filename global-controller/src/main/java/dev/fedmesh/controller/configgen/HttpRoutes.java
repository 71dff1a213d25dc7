package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.policy.DestinationRule;
import dev.fedmesh.model.policy.Hosts;
import dev.fedmesh.model.policy.MeshConfig;
import dev.fedmesh.model.policy.StringMatch;
import dev.fedmesh.model.policy.VirtualService;
import dev.fedmesh.model.policy.VirtualService.Destination;
import dev.fedmesh.model.policy.VirtualService.HeaderChanges;
import dev.fedmesh.model.policy.VirtualService.HeaderOperations;
import dev.fedmesh.model.policy.VirtualService.HttpMatch;
import dev.fedmesh.model.policy.VirtualService.HttpRoute;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * A VirtualService's HTTP rules as Envoy routes for one service port, as Istio translates them: one
 * route per match condition, in order; weighted clusters per destination and subset; retries,
 * timeouts, faults (Envoy's fault filter, per route), rewrites, redirects and header changes. A
 * destination whose cluster does not exist (a host with no endpoints anywhere, a port it lacks, a
 * subset its DestinationRule lacks) is left out of the route; a route left with none answers 503.
 */
final class HttpRoutes {
  /** The fault filter's name, as Envoy and gRPC know it. */
  static final String FAULT_FILTER = "envoy.filters.http.fault";

  private HttpRoutes() {}

  /**
   * The routes of {@code port} of {@code service} for a proxy of {@code role}: the VirtualService's
   * (or the converted Gateway API or SMI routes') when one routes the host and has a rule for the
   * port, else one default route to the service's own cluster. A port no rule matches keeps its
   * default route, as Istio skips a VirtualService without routes for a port and as Gateway API
   * limits a route with a parent port to that port.
   */
  static List<Route> routes(
      MeshSnapshot mesh, ServiceKey service, ServicePort port, ProxyContext proxy) {
    return routes(mesh, service.fqdn(), port, proxy);
  }

  /** As for a service, for any host with clusters of its own (a ServiceEntry's). */
  static List<Route> routes(
      MeshSnapshot mesh, String service, ServicePort port, ProxyContext proxy) {
    ProxyRole role = proxy.role();
    Optional<VirtualService> vs = mesh.policies().virtualServiceFor(service);
    List<Route> routes = new ArrayList<>();
    for (int r = 0; vs.isPresent() && r < vs.get().http().size(); r++) {
      HttpRoute rule = vs.get().http().get(r);
      String name = rule.name().isEmpty() ? vs.get().metadata().name() + "." + r : rule.name();
      List<HttpMatch> matches = rule.match();
      if (matches.isEmpty()) {
        routes.add(route(mesh, service, port, role, name, Optional.empty(), rule));
        continue;
      }
      for (HttpMatch match : matches) {
        if (match.port().isPresent() && match.port().getAsInt() != port.port()) {
          continue;
        }
        // Source conditions are the caller's own: routes are generated per workload.
        if (!match.admitsSource(proxy.namespace(), proxy.labels())) {
          continue;
        }
        routes.add(route(mesh, service, port, role, name, Optional.of(match), rule));
      }
    }
    return routes.isEmpty() ? List.of(defaultRoute(mesh, service, port, role)) : routes;
  }

  private static Route defaultRoute(
      MeshSnapshot mesh, String service, ServicePort port, ProxyRole role) {
    String cluster = ResourceNames.outboundCluster(service, port.port(), "");
    RouteAction.Builder action =
        RouteAction.newBuilder()
            .setCluster(cluster)
            .setRetryPolicy(defaultRetries(mesh, role))
            .addAllHashPolicy(destinationPolicy(mesh, service, "", port.port()).hashPolicies());
    if (role == ProxyRole.SIDECAR) {
      action.setTimeout(Durations.ZERO);
    }
    return Route.newBuilder()
        .setName("default")
        .setMatch(RouteMatch.newBuilder().setPrefix(role == ProxyRole.SIDECAR ? "/" : ""))
        .setRoute(action)
        .build();
  }

  private static Route route(
      MeshSnapshot mesh,
      String service,
      ServicePort port,
      ProxyRole role,
      String name,
      Optional<HttpMatch> match,
      HttpRoute rule) {
    Route.Builder route =
        Route.newBuilder().setName(name).setMatch(withConditions(match(match, role), match));
    if (rule.redirect().isPresent()) {
      return route.setRedirect(redirect(rule.redirect().get())).build();
    }
    if (rule.route().isEmpty()) {
      // Only a converted Gateway API or SMI rule whose backends all weigh 0: Gateway API answers
      // 500 when no backend may take the request.
      return route
          .setDirectResponse(
              DirectResponseAction.newBuilder()
                  .setStatus(500)
                  .setBody(
                      io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                          .setInlineString("every backend of route '" + name + "' has weight 0\n")))
          .build();
    }
    List<String> clusters = new ArrayList<>();
    List<Destination> kept = new ArrayList<>();
    for (Destination destination : rule.route()) {
      Optional<String> cluster = cluster(mesh, destination, service, port.port());
      if (cluster.isPresent()) {
        clusters.add(cluster.get());
        kept.add(destination);
      }
    }
    if (kept.isEmpty()) {
      return route
          .setDirectResponse(
              DirectResponseAction.newBuilder()
                  .setStatus(503)
                  .setBody(
                      io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                          .setInlineString(
                              "no destination of route '"
                                  + name
                                  + "' has endpoints in the mesh\n")))
          .build();
    }
    RouteAction.Builder action = RouteAction.newBuilder();
    HeaderChanges routeHeaders = rule.headers();
    if (kept.size() == 1) {
      action.setCluster(clusters.get(0));
      routeHeaders = merge(routeHeaders, kept.get(0).headers());
    } else {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      int total = kept.stream().mapToInt(Destination::weight).sum();
      for (int i = 0; i < kept.size(); i++) {
        Destination destination = kept.get(i);
        WeightedCluster.ClusterWeight.Builder weight =
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(clusters.get(i))
                // Destinations left out give their share to the rest, in proportion.
                .setWeight(UInt32Value.of(total == 0 ? 1 : destination.weight()));
        HeaderOperations request = destination.headers().request();
        HeaderOperations response = destination.headers().response();
        weight.addAllRequestHeadersToAdd(headerOptions(request));
        weight.addAllRequestHeadersToRemove(request.remove());
        weight.addAllResponseHeadersToAdd(headerOptions(response));
        weight.addAllResponseHeadersToRemove(response.remove());
        weighted.addClusters(weight);
      }
      action.setWeightedClusters(weighted);
    }
    // Hashing follows the DestinationRule of the first destination, as Istio does.
    action.addAllHashPolicy(
        destinationPolicy(mesh, kept.get(0).host(), kept.get(0).subset(), port.port())
            .hashPolicies());
    if (rule.timeout().isPresent()) {
      action.setTimeout(Durations.fromNanos(rule.timeout().get().toNanos()));
    } else if (role == ProxyRole.SIDECAR) {
      action.setTimeout(Durations.ZERO);
    }
    if (rule.retries().isPresent()) {
      if (rule.retries().get().attempts() > 0) {
        action.setRetryPolicy(retries(rule.retries().get(), role));
      }
    } else {
      RetryPolicy retries = defaultRetries(mesh, role);
      if (rule.tryTimeout().isPresent()) {
        retries =
            retries.toBuilder()
                .setPerTryTimeout(Durations.fromNanos(rule.tryTimeout().get().toNanos()))
                .build();
      }
      action.setRetryPolicy(retries);
    }
    rule.rewrite()
        .ifPresent(
            rewrite -> {
              if (!rewrite.authority().isEmpty()) {
                action.setHostRewriteLiteral(rewrite.authority());
              }
              if (!rewrite.regexMatch().isEmpty()) {
                action.setRegexRewrite(
                    RegexMatchAndSubstitute.newBuilder()
                        .setPattern(regex(rewrite.regexMatch()))
                        .setSubstitution(rewrite.regexRewrite()));
              } else if (!rewrite.uri().isEmpty()) {
                Optional<StringMatch> uri = match.flatMap(HttpMatch::uri);
                if (uri.isPresent() && uri.get().type() != StringMatch.Type.PREFIX) {
                  // An exact or regex match rewrites the whole path.
                  action.setRegexRewrite(
                      RegexMatchAndSubstitute.newBuilder()
                          .setPattern(regex("^.*$"))
                          .setSubstitution(rewrite.uri()));
                } else {
                  action.setPrefixRewrite(rewrite.uri());
                }
              }
            });
    route.setRoute(action);
    route.addAllRequestHeadersToAdd(headerOptions(routeHeaders.request()));
    route.addAllRequestHeadersToRemove(routeHeaders.request().remove());
    route.addAllResponseHeadersToAdd(headerOptions(routeHeaders.response()));
    route.addAllResponseHeadersToRemove(routeHeaders.response().remove());
    rule.fault()
        .ifPresent(fault -> route.putTypedPerFilterConfig(FAULT_FILTER, Any.pack(fault(fault))));
    return route.build();
  }

  private static RouteMatch match(Optional<HttpMatch> written, ProxyRole role) {
    RouteMatch.Builder match = RouteMatch.newBuilder();
    if (written.isEmpty() || written.get().uri().isEmpty()) {
      return match.setPrefix(role == ProxyRole.SIDECAR ? "/" : "").build();
    }
    HttpMatch m = written.get();
    StringMatch uri = m.uri().get();
    switch (uri.type()) {
      case EXACT -> match.setPath(uri.value());
      case PREFIX -> match.setPrefix(uri.value());
      case REGEX -> match.setSafeRegex(regex(uri.value()));
    }
    if (m.ignoreUriCase()) {
      match.setCaseSensitive(com.google.protobuf.BoolValue.of(false));
    }
    return match.build();
  }

  /** Adds the header, method, authority, scheme and query conditions of a match. */
  static RouteMatch withConditions(RouteMatch match, Optional<HttpMatch> written) {
    if (written.isEmpty()) {
      return match;
    }
    HttpMatch m = written.get();
    RouteMatch.Builder builder = match.toBuilder();
    m.method().ifPresent(method -> builder.addHeaders(header(":method", method, false)));
    m.authority()
        .ifPresent(authority -> builder.addHeaders(header(":authority", authority, false)));
    m.scheme().ifPresent(scheme -> builder.addHeaders(header(":scheme", scheme, false)));
    m.headers().forEach((name, value) -> builder.addHeaders(header(name, value, false)));
    m.withoutHeaders().forEach((name, value) -> builder.addHeaders(header(name, value, true)));
    m.queryParams()
        .forEach(
            (name, value) ->
                builder.addQueryParameters(
                    QueryParameterMatcher.newBuilder()
                        .setName(name)
                        .setStringMatch(string(value))));
    return builder.build();
  }

  private static HeaderMatcher header(String name, StringMatch value, boolean invert) {
    return HeaderMatcher.newBuilder()
        .setName(name)
        .setStringMatch(string(value))
        .setInvertMatch(invert)
        .build();
  }

  private static StringMatcher string(StringMatch value) {
    return switch (value.type()) {
      case EXACT -> StringMatcher.newBuilder().setExact(value.value()).build();
      case PREFIX -> StringMatcher.newBuilder().setPrefix(value.value()).build();
      case REGEX -> StringMatcher.newBuilder().setSafeRegex(regex(value.value())).build();
    };
  }

  private static RegexMatcher regex(String regex) {
    return RegexMatcher.newBuilder().setRegex(regex).build();
  }

  /**
   * The cluster a destination names, when it exists in the mesh: a service's, else a ServiceEntry's
   * ({@link ServiceEntries#cluster}).
   *
   * @param self the host whose routes these are
   */
  static Optional<String> cluster(
      MeshSnapshot mesh, Destination destination, String self, int selfPort) {
    Optional<ServiceKey> key = Hosts.service(destination.host());
    SortedMap<dev.fedmesh.model.ClusterName, ServiceEndpoints> shards =
        key.map(mesh.services()::get).orElse(null);
    if (shards == null) {
      return ServiceEntries.cluster(mesh, destination, self, selfPort);
    }
    List<ServicePort> ports = ConfigGenerator.ports(shards.values());
    int port =
        destination.port().isPresent()
            ? destination.port().getAsInt()
            : key.get().fqdn().equals(self) || ports.size() != 1 ? selfPort : ports.get(0).port();
    if (ports.stream().noneMatch(p -> p.port() == port)) {
      return Optional.empty();
    }
    if (!destination.subset().isEmpty()
        && mesh.policies()
            .destinationRuleFor(destination.host())
            .flatMap(rule -> rule.subset(destination.subset()))
            .isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(ResourceNames.outboundCluster(key.get(), port, destination.subset()));
  }

  static DestinationPolicy destinationPolicy(
      MeshSnapshot mesh, String host, String subset, int port) {
    Optional<DestinationRule> rule = mesh.policies().destinationRuleFor(host);
    return DestinationPolicy.of(rule, subset, port);
  }

  private static RetryPolicy defaultRetries(MeshSnapshot mesh, ProxyRole role) {
    Optional<VirtualService.Retries> configured =
        mesh.policies().meshConfig().flatMap(MeshConfig::defaultHttpRetryPolicy);
    if (configured.isPresent() && configured.get().attempts() > 0) {
      return retries(configured.get(), role);
    }
    return role == ProxyRole.SIDECAR
        ? TrafficDefaults.sidecarRetries()
        : TrafficDefaults.grpcRetries();
  }

  /** Istio's retries: attempts, per-try timeout, and retryOn with status codes split out. */
  static RetryPolicy retries(VirtualService.Retries retries, ProxyRole role) {
    RetryPolicy.Builder policy =
        (role == ProxyRole.SIDECAR
                ? TrafficDefaults.sidecarRetries()
                : TrafficDefaults.grpcRetries())
            .toBuilder().setNumRetries(UInt32Value.of(retries.attempts()));
    retries
        .perTryTimeout()
        .ifPresent(timeout -> policy.setPerTryTimeout(Durations.fromNanos(timeout.toNanos())));
    if (!retries.retryOn().isEmpty()) {
      List<String> on = new ArrayList<>();
      for (String condition : retries.retryOn().split(",")) {
        String c = condition.strip();
        if (c.isEmpty()) {
          continue;
        }
        if (c.chars().allMatch(Character::isDigit)) {
          policy.addRetriableStatusCodes(Integer.parseInt(c));
          if (!on.contains("retriable-status-codes")) {
            on.add("retriable-status-codes");
          }
        } else if (!on.contains(c)) {
          on.add(c);
        }
      }
      policy.setRetryOn(String.join(",", on));
    }
    return policy.build();
  }

  private static HTTPFault fault(VirtualService.Fault fault) {
    HTTPFault.Builder result = HTTPFault.newBuilder();
    fault
        .delay()
        .ifPresent(
            delay ->
                result.setDelay(
                    FaultDelay.newBuilder()
                        .setFixedDelay(Durations.fromNanos(delay.toNanos()))
                        .setPercentage(percent(fault.delayPercent()))));
    if (fault.aborts()) {
      FaultAbort.Builder abort =
          FaultAbort.newBuilder().setPercentage(percent(fault.abortPercent()));
      if (fault.abortHttpStatus() > 0) {
        abort.setHttpStatus(fault.abortHttpStatus());
      } else {
        abort.setGrpcStatus(VirtualService.GRPC_STATUS.indexOf(fault.abortGrpcStatus()));
      }
      result.setAbort(abort);
    }
    return result.build();
  }

  /** A percentage with Istio's precision: parts per million. */
  private static FractionalPercent percent(double percent) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percent * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  private static RedirectAction redirect(VirtualService.Redirect redirect) {
    RedirectAction.Builder action = RedirectAction.newBuilder();
    if (!redirect.uri().isEmpty()) {
      action.setPathRedirect(redirect.uri());
    }
    if (!redirect.authority().isEmpty()) {
      action.setHostRedirect(redirect.authority());
    }
    redirect.port().ifPresent(action::setPortRedirect);
    if (!redirect.scheme().isEmpty()) {
      action.setSchemeRedirect(redirect.scheme());
    }
    action.setResponseCode(
        switch (redirect.redirectCode()) {
          case 302 -> RedirectAction.RedirectResponseCode.FOUND;
          case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
          case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
          case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
          default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
    return action.build();
  }

  private static HeaderChanges merge(HeaderChanges route, HeaderChanges destination) {
    if (destination.isEmpty()) {
      return route;
    }
    return new HeaderChanges(
        merge(route.request(), destination.request()),
        merge(route.response(), destination.response()));
  }

  private static HeaderOperations merge(HeaderOperations a, HeaderOperations b) {
    Map<String, String> set = new java.util.LinkedHashMap<>(a.set());
    set.putAll(b.set());
    Map<String, String> add = new java.util.LinkedHashMap<>(a.add());
    add.putAll(b.add());
    List<String> remove = new ArrayList<>(a.remove());
    remove.addAll(b.remove());
    return new HeaderOperations(set, add, remove);
  }

  private static List<HeaderValueOption> headerOptions(HeaderOperations operations) {
    List<HeaderValueOption> options = new ArrayList<>();
    new java.util.TreeMap<>(operations.set())
        .forEach(
            (name, value) ->
                options.add(
                    HeaderValueOption.newBuilder()
                        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
                        .setAppendAction(
                            HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                        .build()));
    new java.util.TreeMap<>(operations.add())
        .forEach(
            (name, value) ->
                options.add(
                    HeaderValueOption.newBuilder()
                        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
                        .setAppendAction(
                            HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)
                        .build()));
    return options;
  }
}
