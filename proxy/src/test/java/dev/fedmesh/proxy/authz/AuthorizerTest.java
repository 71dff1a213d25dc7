package dev.fedmesh.proxy.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Envoy's RBAC semantics as Istio's AuthorizationPolicy relies on them. */
class AuthorizerTest {
  private static final String FRONTEND = "spiffe://fedmesh.local/ns/shop/sa/frontend";
  private static final String INTRUDER = "spiffe://fedmesh.local/ns/other/sa/intruder";

  static HttpFilter filter(String name, RBAC.Action action, Map<String, Policy> policies) {
    var rbac =
        io.envoyproxy
            .envoy
            .extensions
            .filters
            .http
            .rbac
            .v3
            .RBAC
            .newBuilder()
            .setRules(RBAC.newBuilder().setAction(action).putAllPolicies(policies))
            .build();
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(rbac)).build();
  }

  static Policy policy(Permission permission, Principal principal) {
    return Policy.newBuilder().addPermissions(permission).addPrincipals(principal).build();
  }

  static Permission pathPrefix(String prefix) {
    return Permission.newBuilder()
        .setUrlPath(PathMatcher.newBuilder().setPath(StringMatcher.newBuilder().setPrefix(prefix)))
        .build();
  }

  static Principal principal(String spiffeId) {
    return Principal.newBuilder()
        .setAuthenticated(
            Principal.Authenticated.newBuilder()
                .setPrincipalName(StringMatcher.newBuilder().setExact(spiffeId)))
        .build();
  }

  static final Permission ANY_PERMISSION = Permission.newBuilder().setAny(true).build();
  static final Principal ANY_PRINCIPAL = Principal.newBuilder().setAny(true).build();

  private static Attributes request(Optional<String> peer, String method, String path) {
    return Attributes.connection(
            peer,
            new InetSocketAddress("127.0.0.1", 40000),
            new InetSocketAddress("127.0.0.2", 8080),
            "")
        .withRequest(name -> name.equals(":method") ? method : null, path);
  }

  private static boolean allowed(Authorizer authorizer, Attributes attributes) {
    return authorizer.check(attributes) instanceof Decision.Allowed;
  }

  @Test
  void withoutAnyAllowPolicyEverythingNotDeniedIsAllowed() {
    Authorizer deny =
        Authorizer.ofHttpFilters(
            List.of(
                filter(
                    "deny",
                    RBAC.Action.DENY,
                    Map.of("no-admin", policy(pathPrefix("/admin"), ANY_PRINCIPAL)))));

    assertThat(allowed(deny, request(Optional.empty(), "GET", "/shop"))).isTrue();
    Decision denied = deny.check(request(Optional.of(FRONTEND), "GET", "/admin/users"));
    assertThat(denied).isInstanceOf(Decision.Denied.class);
    assertThat(denied.toString()).contains("no-admin");
  }

  @Test
  void anAllowPolicyDeniesWhatItDoesNotAllowAndDenyIsEvaluatedFirst() {
    Authorizer authorizer =
        Authorizer.ofHttpFilters(
            List.of(
                filter(
                    "deny",
                    RBAC.Action.DENY,
                    Map.of("no-admin", policy(pathPrefix("/admin"), ANY_PRINCIPAL))),
                filter(
                    "allow",
                    RBAC.Action.ALLOW,
                    Map.of("frontend", policy(ANY_PERMISSION, principal(FRONTEND))))));

    assertThat(allowed(authorizer, request(Optional.of(FRONTEND), "GET", "/pay"))).isTrue();
    assertThat(allowed(authorizer, request(Optional.of(INTRUDER), "GET", "/pay"))).isFalse();
    assertThat(allowed(authorizer, request(Optional.empty(), "GET", "/pay"))).isFalse();
    // The frontend is allowed, but DENY comes first.
    assertThat(allowed(authorizer, request(Optional.of(FRONTEND), "GET", "/admin"))).isFalse();
  }

  @Test
  void anAllowFilterWithNoPoliciesDeniesEverything() {
    Authorizer allowNothing =
        Authorizer.ofHttpFilters(List.of(filter("allow-nothing", RBAC.Action.ALLOW, Map.of())));

    assertThat(allowed(allowNothing, request(Optional.of(FRONTEND), "GET", "/"))).isFalse();
  }

  @Test
  void fieldsThatNeedAnIdentityNeverMatchPlaintextEvenNegated() {
    // Istio's notPrincipals: DENY every caller that is not the frontend. In Envoy a plaintext
    // caller would not be "authenticated as frontend", so not_id would match and deny; here it
    // must not match either way, and the ALLOW below then refuses plaintext by default.
    Principal notFrontend =
        Principal.newBuilder()
            .setNotId(
                Principal.newBuilder()
                    .setOrIds(Principal.Set.newBuilder().addIds(principal(FRONTEND))))
            .build();
    Authorizer allowNotFrontend =
        Authorizer.ofHttpFilters(
            List.of(
                filter(
                    "allow",
                    RBAC.Action.ALLOW,
                    Map.of("not-frontend", policy(ANY_PERMISSION, notFrontend)))));

    assertThat(allowed(allowNotFrontend, request(Optional.of(INTRUDER), "GET", "/"))).isTrue();
    assertThat(allowed(allowNotFrontend, request(Optional.of(FRONTEND), "GET", "/"))).isFalse();
    assertThat(allowed(allowNotFrontend, request(Optional.empty(), "GET", "/"))).isFalse();
  }

  @Test
  void methodsHeadersNamespacesAndAddressesMatchAsIstioTranslatesThem() {
    Permission getOnly =
        Permission.newBuilder()
            .setHeader(
                HeaderMatcher.newBuilder()
                    .setName(":method")
                    .setStringMatch(StringMatcher.newBuilder().setExact("GET")))
            .build();
    Principal shopNamespace =
        Principal.newBuilder()
            .setAuthenticated(
                Principal.Authenticated.newBuilder()
                    .setPrincipalName(
                        StringMatcher.newBuilder()
                            .setSafeRegex(
                                io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder()
                                    .setRegex(".*/ns/shop/.*"))))
            .build();
    Principal loopback =
        Principal.newBuilder()
            .setDirectRemoteIp(
                CidrRange.newBuilder()
                    .setAddressPrefix("127.0.0.0")
                    .setPrefixLen(UInt32Value.of(8)))
            .build();
    Authorizer authorizer =
        Authorizer.ofHttpFilters(
            List.of(
                filter(
                    "allow",
                    RBAC.Action.ALLOW,
                    Map.of(
                        "shop-reads",
                        Policy.newBuilder()
                            .addPermissions(getOnly)
                            .addPrincipals(
                                Principal.newBuilder()
                                    .setAndIds(
                                        Principal.Set.newBuilder()
                                            .addIds(shopNamespace)
                                            .addIds(loopback)))
                            .build()))));

    assertThat(allowed(authorizer, request(Optional.of(FRONTEND), "GET", "/"))).isTrue();
    assertThat(allowed(authorizer, request(Optional.of(FRONTEND), "POST", "/"))).isFalse();
    assertThat(allowed(authorizer, request(Optional.of(INTRUDER), "GET", "/"))).isFalse();
  }

  @Test
  void anAuditPolicyIsReportedAndDeniesNothing() {
    Authorizer audit =
        Authorizer.ofHttpFilters(
            List.of(
                filter(
                    "audit",
                    RBAC.Action.LOG,
                    Map.of("watch-admin", policy(pathPrefix("/admin"), ANY_PRINCIPAL)))));

    Decision decision = audit.check(request(Optional.empty(), "GET", "/admin"));

    assertThat(decision).isInstanceOf(Decision.Allowed.class);
    assertThat(decision.audited()).containsExactly("audit/watch-admin");
  }

  @Test
  void aRuleThatCannotBeEnforcedIsRefusedWithItsPolicyAndField() {
    Permission metadata =
        Permission.newBuilder()
            .setMetadata(MetadataMatcher.newBuilder().setFilter("envoy.filters.http.jwt_authn"))
            .build();
    HttpFilter filter =
        filter("allow", RBAC.Action.ALLOW, Map.of("jwt", policy(metadata, ANY_PRINCIPAL)));

    assertThatThrownBy(() -> Authorizer.ofHttpFilters(List.of(filter)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("policy 'jwt'")
        .hasMessageContaining("permissions[0]")
        .hasMessageContaining("metadata is not supported");
  }
}
