package dev.fedmesh.proxy.authz;

import dev.fedmesh.model.Cidr;
import dev.fedmesh.proxy.match.HeaderMatch;
import dev.fedmesh.proxy.match.StringMatch;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * One compiled RBAC permission or principal. Envoy's semantics, with one deliberate difference: a
 * rule that needs the peer's identity (an {@code authenticated} principal, or a {@code not_id} /
 * {@code not_rule} around one) never matches a plaintext request. In Envoy, {@code not_id {
 * authenticated { principal_name: X } }} matches a plaintext caller, which has let mTLS-only
 * policies match plaintext traffic (Istio security bulletin 2021-004).
 */
abstract class Rule {
  /** Whether the rule looks at the peer's identity. */
  abstract boolean needsPeer();

  abstract boolean test(Attributes attributes);

  /** Envoy's result, but false for a plaintext request when the rule needs an identity. */
  final boolean matches(Attributes attributes) {
    if (needsPeer() && attributes.principal().isEmpty()) {
      return false;
    }
    return test(attributes);
  }

  static Rule of(Permission permission, String where) {
    return switch (permission.getRuleCase()) {
      case ANY -> simple(a -> permission.getAny());
      case AND_RULES ->
          all(permissions(permission.getAndRules().getRulesList(), where + ".and_rules"));
      case OR_RULES ->
          any(permissions(permission.getOrRules().getRulesList(), where + ".or_rules"));
      case NOT_RULE -> not(of(permission.getNotRule(), where + ".not_rule"));
      case HEADER -> header(HeaderMatch.of(permission.getHeader()));
      case URL_PATH -> path(StringMatch.of(permission.getUrlPath().getPath()));
      case DESTINATION_IP -> address(cidr(permission.getDestinationIp(), where), false);
      case DESTINATION_PORT -> {
        int port = permission.getDestinationPort();
        yield simple(a -> a.destination().getPort() == port);
      }
      case DESTINATION_PORT_RANGE -> {
        long start = permission.getDestinationPortRange().getStart();
        long end = permission.getDestinationPortRange().getEnd();
        yield simple(a -> a.destination().getPort() >= start && a.destination().getPort() < end);
      }
      case REQUESTED_SERVER_NAME -> {
        StringMatch name = StringMatch.of(permission.getRequestedServerName());
        yield simple(a -> name.matches(a.serverName()));
      }
      default ->
          throw new IllegalArgumentException(
              where
                  + ": "
                  + permission.getRuleCase().name().toLowerCase(Locale.ROOT)
                  + " is not supported (expected: any, and_rules, or_rules, not_rule, header,"
                  + " url_path, destination_ip, destination_port, destination_port_range,"
                  + " requested_server_name)");
    };
  }

  static Rule of(Principal principal, String where) {
    return switch (principal.getIdentifierCase()) {
      case ANY -> simple(a -> principal.getAny());
      case AND_IDS -> all(principals(principal.getAndIds().getIdsList(), where + ".and_ids"));
      case OR_IDS -> any(principals(principal.getOrIds().getIdsList(), where + ".or_ids"));
      case NOT_ID -> not(of(principal.getNotId(), where + ".not_id"));
      case AUTHENTICATED -> {
        StringMatch name =
            principal.getAuthenticated().hasPrincipalName()
                ? StringMatch.of(principal.getAuthenticated().getPrincipalName())
                : null;
        yield new Rule() {
          @Override
          boolean needsPeer() {
            return true;
          }

          @Override
          boolean test(Attributes a) {
            return a.principal().isPresent() && (name == null || name.matches(a.principal().get()));
          }
        };
      }
      case SOURCE_IP -> address(cidr(principal.getSourceIp(), where), true);
      case DIRECT_REMOTE_IP -> address(cidr(principal.getDirectRemoteIp(), where), true);
      case REMOTE_IP -> address(cidr(principal.getRemoteIp(), where), true);
      case HEADER -> header(HeaderMatch.of(principal.getHeader()));
      case URL_PATH -> path(StringMatch.of(principal.getUrlPath().getPath()));
      default ->
          throw new IllegalArgumentException(
              where
                  + ": "
                  + principal.getIdentifierCase().name().toLowerCase(Locale.ROOT)
                  + " is not supported (expected: any, and_ids, or_ids, not_id, authenticated,"
                  + " source_ip, direct_remote_ip, remote_ip, header, url_path)");
    };
  }

  static Rule all(List<Rule> rules) {
    boolean needsPeer = rules.stream().anyMatch(Rule::needsPeer);
    return new Rule() {
      @Override
      boolean needsPeer() {
        return needsPeer;
      }

      @Override
      boolean test(Attributes a) {
        for (Rule rule : rules) {
          if (!rule.matches(a)) {
            return false;
          }
        }
        return true;
      }
    };
  }

  static Rule any(List<Rule> rules) {
    // An "or" that names an identity anywhere needs one too: otherwise not_id { or_ids { ... } },
    // the form of notPrincipals, would match every plaintext request.
    boolean needsPeer = rules.stream().anyMatch(Rule::needsPeer);
    return new Rule() {
      @Override
      boolean needsPeer() {
        return needsPeer;
      }

      @Override
      boolean test(Attributes a) {
        for (Rule rule : rules) {
          if (rule.matches(a)) {
            return true;
          }
        }
        return false;
      }
    };
  }

  private static Rule not(Rule inner) {
    return new Rule() {
      @Override
      boolean needsPeer() {
        return inner.needsPeer();
      }

      @Override
      boolean test(Attributes a) {
        return !inner.test(a);
      }
    };
  }

  private static Rule simple(Predicate<Attributes> predicate) {
    return new Rule() {
      @Override
      boolean needsPeer() {
        return false;
      }

      @Override
      boolean test(Attributes a) {
        return predicate.test(a);
      }
    };
  }

  private static Rule header(HeaderMatch match) {
    String name = match.name().toLowerCase(Locale.ROOT);
    return simple(a -> match.matches(a.header(name)));
  }

  private static Rule path(StringMatch match) {
    return simple(a -> a.path() != null && match.matches(a.path()));
  }

  private static Rule address(Cidr cidr, boolean source) {
    return simple(
        a -> {
          InetSocketAddress address = source ? a.source() : a.destination();
          return address.getAddress() != null
              && cidr.contains(address.getAddress().getHostAddress());
        });
  }

  private static Cidr cidr(CidrRange range, String where) {
    try {
      return Cidr.parse(range.getAddressPrefix() + "/" + range.getPrefixLen().getValue());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static List<Rule> permissions(List<Permission> permissions, String where) {
    List<Rule> rules = new ArrayList<>();
    for (int i = 0; i < permissions.size(); i++) {
      rules.add(of(permissions.get(i), where + "[" + i + "]"));
    }
    return List.copyOf(rules);
  }

  private static List<Rule> principals(List<Principal> principals, String where) {
    List<Rule> rules = new ArrayList<>();
    for (int i = 0; i < principals.size(); i++) {
      rules.add(of(principals.get(i), where + "[" + i + "]"));
    }
    return List.copyOf(rules);
  }
}
