package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import dev.fedmesh.proxy.upstream.XxHash64;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Route decisions beyond matching a path: query parameter conditions, regex rewrites, redirects,
 * hash policies and header-driven retries, each as Envoy reads its config.
 */
class RoutePolicyTest {
  private static RegexMatchAndSubstitute rewrite(String regex, String substitution) {
    return RegexMatchAndSubstitute.newBuilder()
        .setPattern(RegexMatcher.newBuilder().setRegex(regex))
        .setSubstitution(substitution)
        .build();
  }

  private static RouteTable table(Route... routes) {
    return new RouteTable(config(routes));
  }

  private static RouteConfiguration config(Route... routes) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName("shop").addDomains("shop.test");
    for (Route route : routes) {
      host.addRoutes(route);
    }
    return RouteConfiguration.newBuilder().setName("outbound").addVirtualHosts(host).build();
  }

  private static Optional<RouteTable.Decision> get(RouteTable table, String path) {
    return table.route("shop.test", HttpMethod.GET, path, new DefaultHttpHeaders());
  }

  private static Route query(String cluster, QueryParameterMatcher.Builder... matchers) {
    RouteMatch.Builder match = RouteMatch.newBuilder().setPrefix("/");
    for (QueryParameterMatcher.Builder matcher : matchers) {
      match.addQueryParameters(matcher);
    }
    return Route.newBuilder()
        .setMatch(match)
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  @Test
  void queryParametersMatchTheirFirstRawValueOrTheirPresence() {
    RouteTable table =
        table(
            query(
                "exact",
                QueryParameterMatcher.newBuilder()
                    .setName("v")
                    .setStringMatch(
                        StringMatcher.newBuilder().setExact("Two").setIgnoreCase(true))),
            query(
                "regex",
                QueryParameterMatcher.newBuilder()
                    .setName("id")
                    .setStringMatch(
                        StringMatcher.newBuilder()
                            .setSafeRegex(RegexMatcher.newBuilder().setRegex("[0-9]+")))),
            query(
                "present",
                QueryParameterMatcher.newBuilder().setName("debug").setPresentMatch(true)),
            query(
                "suffix",
                QueryParameterMatcher.newBuilder()
                    .setName("f")
                    .setStringMatch(StringMatcher.newBuilder().setSuffix(".json"))),
            query("default"));

    assertThat(get(table, "/a?x=1&v=two").map(RouteTable.Decision::cluster)).hasValue("exact");
    assertThat(get(table, "/a?v=three&v=two").map(RouteTable.Decision::cluster))
        .hasValue("default");
    assertThat(get(table, "/a?id=42").map(RouteTable.Decision::cluster)).hasValue("regex");
    assertThat(get(table, "/a?id=4%32").map(RouteTable.Decision::cluster)).hasValue("default");
    assertThat(get(table, "/a?debug").map(RouteTable.Decision::cluster)).hasValue("present");
    assertThat(get(table, "/a?f=a.json#top").map(RouteTable.Decision::cluster)).hasValue("suffix");
    assertThat(get(table, "/a?debugx=1").map(RouteTable.Decision::cluster)).hasValue("default");
    assertThat(QueryParameterMatch.firstValue("/p?a=1&b=&c&a=2", "b")).isEmpty();
    assertThat(QueryParameterMatch.firstValue("/p?a=1&b=&c&a=2", "c")).isEmpty();
    assertThat(QueryParameterMatch.firstValue("/p?a=1&b=&c&a=2", "a")).isEqualTo("1");
    assertThat(QueryParameterMatch.firstValue("/p", "a")).isNull();
  }

  @Test
  void aRegexRewriteReplacesEveryMatchInThePathAndKeepsTheQuery() {
    RouteTable table =
        table(
            Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(
                    RouteAction.newBuilder()
                        .setCluster("c")
                        .setRegexRewrite(rewrite("^/v([0-9]+)/(.*)$", "/api/\\2?ver=\\1")))
                .build());
    RouteTable.Decision decision = get(table, "/v2/items?x=1").orElseThrow();

    assertThat(decision.rewritePath("/v2/items?x=1")).isEqualTo("/api/items?ver=2?x=1");
    assertThat(RegexRewrite.of(rewrite("o", "0"), "f").apply("/foo/boo")).isEqualTo("/f00/b00");
    assertThat(RegexRewrite.of(rewrite("\\$", "\\\\$"), "f").apply("a$b")).isEqualTo("a\\$b");
    assertThat(RegexRewrite.of(rewrite(".*", ""), "f").applyToPath("/x?q")).isEqualTo("/x?q");
  }

  @Test
  void aPrefixRewriteOfAnExactPathReplacesTheWholePath() {
    RouteTable table =
        table(
            Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPath("/old"))
                .setRoute(RouteAction.newBuilder().setCluster("c").setPrefixRewrite("/new"))
                .build());

    assertThat(get(table, "/old?q=1").orElseThrow().rewritePath("/old?q=1")).isEqualTo("/new?q=1");
  }

  @Test
  void aRegexOrSubstitutionJavaCannotRunIsRefusedNamingTheField() {
    assertThat(
            RouteTable.problems(
                config(
                    Route.newBuilder()
                        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(
                            RouteAction.newBuilder()
                                .setCluster("c")
                                .setRegexRewrite(rewrite("(?P<name>x)", "y")))
                        .build(),
                    Route.newBuilder()
                        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(
                            RouteAction.newBuilder()
                                .setCluster("c")
                                .setRegexRewrite(rewrite("(a)", "\\2")))
                        .build())))
        .satisfiesExactly(
            first ->
                assertThat(first)
                    .startsWith(
                        "virtual host 'shop' routes[0].route.regex_rewrite.pattern.regex:"
                            + " '(?P<name>x)' does not compile"),
            second ->
                assertThat(second)
                    .isEqualTo(
                        "virtual host 'shop' routes[1].route.regex_rewrite.substitution: '\\2'"
                            + " names group \\2 (expected: at most \\1, the pattern's groups)"));
  }

  private static String location(RedirectAction.Builder redirect, String authority, String path) {
    RouteTable table =
        table(
            Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/old"))
                .setRedirect(redirect)
                .build());
    RouteTable.Decision decision =
        table.route(authority, HttpMethod.GET, path, new DefaultHttpHeaders()).orElseThrow();
    return decision.redirect().location("http", authority, path, decision.matchedLength(path));
  }

  @Test
  void redirectsBuildTheirLocationAsEnvoyDoes() {
    assertThat(location(RedirectAction.newBuilder().setHttpsRedirect(true), "shop.test", "/old/a"))
        .isEqualTo("https://shop.test/old/a");
    // The default port of the old scheme goes with it; another port stays.
    assertThat(location(RedirectAction.newBuilder().setHttpsRedirect(true), "shop.test:80", "/old"))
        .isEqualTo("https://shop.test/old");
    assertThat(
            location(RedirectAction.newBuilder().setHttpsRedirect(true), "shop.test:8080", "/old"))
        .isEqualTo("https://shop.test:8080/old");
    assertThat(
            location(
                RedirectAction.newBuilder().setHostRedirect("new.test").setPortRedirect(9443),
                "shop.test:8080",
                "/old?q=1"))
        .isEqualTo("http://new.test:9443/old?q=1");
    assertThat(
            location(
                RedirectAction.newBuilder().setPrefixRewrite("/new").setStripQuery(true),
                "shop.test",
                "/old/a?q=1"))
        .isEqualTo("http://shop.test/new/a");
    assertThat(
            location(
                RedirectAction.newBuilder().setPathRedirect("/moved"), "shop.test", "/old?q=1"))
        .isEqualTo("http://shop.test/moved?q=1");
    assertThat(
            location(
                RedirectAction.newBuilder().setPathRedirect("/moved?x=y").setStripQuery(true),
                "shop.test",
                "/old?q=1"))
        .isEqualTo("http://shop.test/moved?x=y");
    assertThat(
            location(
                RedirectAction.newBuilder()
                    .setSchemeRedirect("https")
                    .setRegexRewrite(rewrite("^/old/(.*)$", "/v2/\\1")),
                "shop.test",
                "/old/a/b?q"))
        .isEqualTo("https://shop.test/v2/a/b?q");
    RouteTable table =
        table(
            Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRedirect(
                    RedirectAction.newBuilder()
                        .setResponseCode(RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT))
                .build());
    assertThat(get(table, "/").orElseThrow().redirect().status()).isEqualTo(308);
    assertThat(get(table, "/").orElseThrow().cluster()).isEmpty();
  }

  private static HttpRequest request(String... headers) {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    for (int i = 0; i < headers.length; i += 2) {
      request.headers().add(headers[i], headers[i + 1]);
    }
    return request;
  }

  private static Optional<Long> hash(
      List<RouteAction.HashPolicy> policies, HttpRequest request, String path) {
    long[] out = new long[1];
    EmbeddedChannel channel = new EmbeddedChannel();
    boolean found =
        RequestHash.of(policies, "hash_policy").hash(request, "shop.test", path, channel, out);
    return found ? Optional.of(out[0]) : Optional.empty();
  }

  private static RouteAction.HashPolicy header(String name, boolean terminal) {
    return RouteAction.HashPolicy.newBuilder()
        .setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(name))
        .setTerminal(terminal)
        .build();
  }

  @Test
  void hashPoliciesCombineAsEnvoysAndATerminalOneEndsTheList() {
    RouteAction.HashPolicy user = header("x-user", false);
    RouteAction.HashPolicy tenant = header("x-tenant", false);
    RouteAction.HashPolicy query =
        RouteAction.HashPolicy.newBuilder()
            .setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder().setName("s"))
            .build();
    RouteAction.HashPolicy cookie =
        RouteAction.HashPolicy.newBuilder()
            .setCookie(RouteAction.HashPolicy.Cookie.newBuilder().setName("session"))
            .build();
    long a = XxHash64.hash("alice");
    long t = XxHash64.hash("acme");

    assertThat(hash(List.of(user), request("x-user", "alice"), "/")).hasValue(a);
    assertThat(hash(List.of(user, tenant), request("x-user", "alice", "x-tenant", "acme"), "/"))
        .hasValue(Long.rotateLeft(a, 1) ^ t);
    assertThat(
            hash(
                List.of(header("x-user", true), tenant),
                request("x-user", "alice", "x-tenant", "acme"),
                "/"))
        .hasValue(a);
    // A terminal policy without its input does not end the list.
    assertThat(hash(List.of(header("x-user", true), tenant), request("x-tenant", "acme"), "/"))
        .hasValue(t);
    assertThat(hash(List.of(user), request(), "/")).isEmpty();
    assertThat(hash(List.of(user), request("x-user", "b", "x-user", "a"), "/"))
        .hasValue(XxHash64.hash("ab"));
    assertThat(hash(List.of(query), request(), "/p?s=42&s=7")).hasValue(XxHash64.hash("42"));
    assertThat(hash(List.of(cookie), request("cookie", "a=1; session=\"xyz\"; b=2"), "/"))
        .hasValue(XxHash64.hash("xyz"));
  }

  @Test
  void hashPoliciesWeCannotHonourAreRefusedByField() {
    assertThatThrownBy(
            () ->
                RequestHash.of(
                    List.of(
                        RouteAction.HashPolicy.newBuilder()
                            .setCookie(
                                RouteAction.HashPolicy.Cookie.newBuilder()
                                    .setName("session")
                                    .setTtl(Duration.newBuilder().setSeconds(60)))
                            .build()),
                    "route.hash_policy"))
        .hasMessageStartingWith("route.hash_policy[0].cookie 'session': ttl set (expected: no ttl");
    assertThatThrownBy(
            () ->
                RequestHash.of(
                    List.of(
                        header("x", false),
                        RouteAction.HashPolicy.newBuilder()
                            .setFilterState(
                                RouteAction.HashPolicy.FilterState.newBuilder().setKey("k"))
                            .build()),
                    "route.hash_policy"))
        .hasMessage(
            "route.hash_policy[1]: filter_state (expected: header, query_parameter, cookie or"
                + " connection_properties.source_ip)");
  }

  @Test
  void retriableHeadersRetryAMatchingResponseAndRetriableRequestHeadersGateRetries() {
    RetryRules rules =
        RetryRules.of(
            RetryPolicy.newBuilder()
                .setRetryOn("retriable-headers")
                .setNumRetries(UInt32Value.of(2))
                .addRetriableHeaders(
                    HeaderMatcher.newBuilder().setName("x-retry-me").setExactMatch("yes"))
                .addRetriableRequestHeaders(
                    HeaderMatcher.newBuilder().setName(":method").setExactMatch("GET"))
                .build(),
            "retry_policy");
    HttpHeaders retry = new DefaultHttpHeaders().add("x-retry-me", "yes");

    assertThat(rules.onResponse(200, retry)).isTrue();
    assertThat(rules.onResponse(200, new DefaultHttpHeaders())).isFalse();
    assertThat(rules.forRequest(request()).numRetries()).isEqualTo(2);
    HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
    assertThat(rules.forRequest(post).numRetries()).isZero();
  }
}
