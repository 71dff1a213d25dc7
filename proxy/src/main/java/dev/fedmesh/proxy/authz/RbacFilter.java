package dev.fedmesh.proxy.authz;

import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One RBAC filter's rules ({@code envoy.filters.http.rbac} or {@code envoy.filters.network.rbac}),
 * compiled: a policy matches when any of its permissions and any of its principals match. An ALLOW
 * filter denies what no policy matches; a DENY filter denies what one matches; a LOG filter denies
 * nothing and reports what matched (Istio's AUDIT). Shadow rules are evaluated and reported, never
 * enforced. A filter without rules lets everything through.
 */
final class RbacFilter {
  private record CompiledPolicy(String name, Rule permissions, Rule principals) {}

  private final String name;
  private final RBAC.Action action;
  private final List<CompiledPolicy> policies;
  private final Optional<RbacFilter> shadow;

  private RbacFilter(
      String name, RBAC.Action action, List<CompiledPolicy> policies, Optional<RbacFilter> shadow) {
    this.name = name;
    this.action = action;
    this.policies = policies;
    this.shadow = shadow;
  }

  /**
   * Compiles a filter's rules.
   *
   * @param name the filter's name in its chain, for reports
   * @param rules null when the filter has none (then it only runs its shadow rules)
   * @throws IllegalArgumentException naming the policy and field that cannot be enforced
   */
  static RbacFilter of(String name, RBAC rules, RBAC shadowRules) {
    Optional<RbacFilter> shadow =
        shadowRules == null
            ? Optional.empty()
            : Optional.of(compile(name + " (shadow)", shadowRules, Optional.empty()));
    return rules == null
        ? new RbacFilter(name, null, List.of(), shadow)
        : compile(name, rules, shadow);
  }

  private static RbacFilter compile(String name, RBAC rules, Optional<RbacFilter> shadow) {
    if (rules.getAction() == RBAC.Action.UNRECOGNIZED) {
      throw new IllegalArgumentException(
          name + ": action " + rules.getActionValue() + " (expected: ALLOW, DENY or LOG)");
    }
    if (rules.hasAuditLoggingOptions()) {
      throw new IllegalArgumentException(name + ": audit_logging_options is not supported");
    }
    List<CompiledPolicy> policies = new ArrayList<>();
    // Envoy's policies are a map: evaluate in name order so that reports are stable.
    for (Map.Entry<String, Policy> entry : new TreeMap<>(rules.getPoliciesMap()).entrySet()) {
      String where = name + ": policy '" + entry.getKey() + "'";
      Policy policy = entry.getValue();
      if (policy.hasCondition() || policy.hasCheckedCondition()) {
        throw new IllegalArgumentException(where + ": condition (CEL) is not supported");
      }
      List<Rule> permissions = new ArrayList<>();
      for (int i = 0; i < policy.getPermissionsCount(); i++) {
        permissions.add(Rule.of(policy.getPermissions(i), where + " permissions[" + i + "]"));
      }
      List<Rule> principals = new ArrayList<>();
      for (int i = 0; i < policy.getPrincipalsCount(); i++) {
        principals.add(Rule.of(policy.getPrincipals(i), where + " principals[" + i + "]"));
      }
      policies.add(new CompiledPolicy(entry.getKey(), Rule.any(permissions), Rule.any(principals)));
    }
    return new RbacFilter(name, rules.getAction(), List.copyOf(policies), shadow);
  }

  String name() {
    return name;
  }

  /** The first policy (in name order) that matches, if any. */
  Optional<String> matchingPolicy(Attributes attributes) {
    for (CompiledPolicy policy : policies) {
      if (policy.permissions().matches(attributes) && policy.principals().matches(attributes)) {
        return Optional.of(policy.name());
      }
    }
    return Optional.empty();
  }

  /** Applies the filter; adds to {@code audited} what LOG and shadow rules matched. */
  Optional<Decision.Denied> apply(Attributes attributes, List<String> audited) {
    shadow.ifPresent(
        s -> s.matchingPolicy(attributes).ifPresent(p -> audited.add(s.name + "/" + p)));
    if (action == null) {
      return Optional.empty();
    }
    Optional<String> matched = matchingPolicy(attributes);
    return switch (action) {
      case ALLOW ->
          matched.isPresent()
              ? Optional.empty()
              : Optional.of(new Decision.Denied(name, "no ALLOW policy matched"));
      case DENY -> matched.map(policy -> new Decision.Denied(name, "DENY policy '" + policy + "'"));
      default -> {
        matched.ifPresent(policy -> audited.add(name + "/" + policy));
        yield Optional.empty();
      }
    };
  }
}
