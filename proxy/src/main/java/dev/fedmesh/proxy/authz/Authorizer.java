package dev.fedmesh.proxy.authz;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The RBAC filters of one filter chain, in the order the chain lists them, as Envoy runs them: the
 * first that denies ends the request. Istio emits its DENY policies as an RBAC filter before the
 * one with its ALLOW policies, which gives its documented order: DENY first; then, if any ALLOW
 * policy exists, only what one of them allows; with none, everything.
 */
public final class Authorizer {
  /** No RBAC filter: everything is allowed. */
  public static final Authorizer ALLOW_ALL = new Authorizer(List.of());

  static final String HTTP_RBAC = "envoy.filters.http.rbac";
  static final String NETWORK_RBAC = "envoy.filters.network.rbac";

  private final List<RbacFilter> filters;

  private Authorizer(List<RbacFilter> filters) {
    this.filters = filters;
  }

  /**
   * The RBAC filters among an HTTP connection manager's filters.
   *
   * @throws IllegalArgumentException naming the filter and field that cannot be enforced
   */
  public static Authorizer ofHttpFilters(List<HttpFilter> httpFilters) {
    List<RbacFilter> filters = new ArrayList<>();
    for (HttpFilter filter : httpFilters) {
      if (filter
          .getTypedConfig()
          .is(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class)) {
        var rbac =
            unpack(
                filter.getTypedConfig(),
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class,
                filter.getName());
        filters.add(
            compile(
                filter.getName(),
                rbac.hasMatcher() || rbac.hasShadowMatcher(),
                rbac.hasRules() ? rbac.getRules() : null,
                rbac.hasShadowRules() ? rbac.getShadowRules() : null));
      }
    }
    return filters.isEmpty() ? ALLOW_ALL : new Authorizer(List.copyOf(filters));
  }

  /**
   * The RBAC filters among a filter chain's network filters.
   *
   * @throws IllegalArgumentException naming the filter and field that cannot be enforced
   */
  public static Authorizer ofNetworkFilters(List<Filter> networkFilters) {
    List<RbacFilter> filters = new ArrayList<>();
    for (Filter filter : networkFilters) {
      if (filter
          .getTypedConfig()
          .is(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class)) {
        var rbac =
            unpack(
                filter.getTypedConfig(),
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class,
                filter.getName());
        filters.add(
            compile(
                filter.getName(),
                rbac.hasMatcher() || rbac.hasShadowMatcher(),
                rbac.hasRules() ? rbac.getRules() : null,
                rbac.hasShadowRules() ? rbac.getShadowRules() : null));
      }
    }
    return filters.isEmpty() ? ALLOW_ALL : new Authorizer(List.copyOf(filters));
  }

  /** One filter's rules; the matcher API (the alternative to rules) is refused by name. */
  private static RbacFilter compile(
      String name,
      boolean matcher,
      io.envoyproxy.envoy.config.rbac.v3.RBAC rules,
      io.envoyproxy.envoy.config.rbac.v3.RBAC shadow) {
    if (matcher) {
      throw new IllegalArgumentException(name + ": matcher is not supported (expected: rules)");
    }
    return RbacFilter.of(name, rules, shadow);
  }

  private static <T extends com.google.protobuf.Message> T unpack(
      Any config, Class<T> type, String name) {
    try {
      return config.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(name + ": does not parse (" + e.getMessage() + ")", e);
    }
  }

  public boolean allowsEverything() {
    return filters.isEmpty();
  }

  public Decision check(Attributes attributes) {
    if (filters.isEmpty()) {
      return new Decision.Allowed(List.of());
    }
    List<String> audited = new ArrayList<>(0);
    for (RbacFilter filter : filters) {
      Optional<Decision.Denied> denied = filter.apply(attributes, audited);
      if (denied.isPresent()) {
        return new Decision.Denied(
            denied.get().filter(), denied.get().reason(), List.copyOf(audited));
      }
    }
    return new Decision.Allowed(List.copyOf(audited));
  }
}
