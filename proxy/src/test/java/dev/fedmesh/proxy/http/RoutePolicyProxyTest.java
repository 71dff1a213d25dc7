package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.HeaderMutationsTest.option;
import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The route policies a VirtualService or HTTPRoute becomes, observed through a real proxy between a
 * real client and real backends on loopback: header mutations, regex rewrites, query parameter
 * matches, redirects, consistent hashing and header-driven retries.
 */
class RoutePolicyProxyTest {
  private final ProxyFixture fixture = new ProxyFixture();
  private HttpClient client;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
  }

  private Backend backend(String name) throws Exception {
    return fixture.closeLater(new Backend(name));
  }

  private void start() throws Exception {
    HttpProxy proxy = fixture.outboundProxy();
    client =
        HttpClient.newBuilder()
            .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
  }

  private HttpResponse<String> get(String url, String... headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> header(Map<String, List<String>> headers, String name) {
    for (Map.Entry<String, List<String>> entry : headers.entrySet()) {
      if (entry.getKey().equalsIgnoreCase(name)) {
        return entry.getValue();
      }
    }
    return List.of();
  }

  @Test
  void headerMutationsReachTheBackendTheClientAndTheRoutesOwnReplies() throws Exception {
    Backend app = backend("app");
    fixture.addCluster(cluster("app").build(), List.of(List.of(app.address())));
    HeaderAppendAction append = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
    HeaderAppendAction overwrite = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
    Route proxied =
        route("/", "app").toBuilder()
            .addRequestHeadersToAdd(option("x-route", "r", append))
            .addRequestHeadersToAdd(option("x-tenant", "forced", overwrite))
            .addRequestHeadersToRemove("x-secret")
            .addResponseHeadersToAdd(option("x-served-by", "mesh", append))
            .addResponseHeadersToRemove("x-backend")
            .build();
    Route direct =
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPath("/health"))
            .setDirectResponse(
                DirectResponseAction.newBuilder()
                    .setStatus(200)
                    .setBody(DataSource.newBuilder().setInlineString("ok")))
            .addResponseHeadersToAdd(option("x-served-by", "proxy", append))
            .build();
    fixture.addHost("app.test", direct, proxied);
    fixture.routes.addResponseHeadersToAdd(option("x-mesh", "fedmesh", append));
    start();

    HttpResponse<String> response =
        get("http://app.test/items", "x-secret", "s3cret", "x-tenant", "mine");
    HttpResponse<String> local = get("http://app.test/health");

    assertThat(response.statusCode()).isEqualTo(200);
    Map<String, List<String>> seen = app.requests.poll();
    assertThat(header(seen, "x-route")).containsExactly("r");
    assertThat(header(seen, "x-tenant")).containsExactly("forced");
    assertThat(header(seen, "x-secret")).isEmpty();
    assertThat(response.headers().allValues("x-served-by")).containsExactly("mesh");
    assertThat(response.headers().allValues("x-mesh")).containsExactly("fedmesh");
    assertThat(response.headers().firstValue("x-backend")).isEmpty();
    assertThat(local.body()).isEqualTo("ok\n");
    assertThat(local.headers().allValues("x-served-by")).containsExactly("proxy");
    assertThat(local.headers().allValues("x-mesh")).containsExactly("fedmesh");
  }

  @Test
  void aRegexRewriteChangesThePathTheBackendSeesAndKeepsTheQuery() throws Exception {
    Backend app = backend("app");
    fixture.addCluster(cluster("app").build(), List.of(List.of(app.address())));
    fixture.addHost(
        "app.test",
        route(
            "/",
            RouteAction.newBuilder()
                .setCluster("app")
                .setRegexRewrite(
                    RegexMatchAndSubstitute.newBuilder()
                        .setPattern(RegexMatcher.newBuilder().setRegex("^/v([0-9]+)/users/(.*)$"))
                        .setSubstitution("/users/\\2/v\\1"))));
    start();

    assertThat(get("http://app.test/v2/users/42?full=1").statusCode()).isEqualTo(200);
    assertThat(app.paths.poll()).isEqualTo("/users/42/v2?full=1");
  }

  @Test
  void queryParametersChooseTheRouteAndRedirectsAreAnsweredWithTheirLocation() throws Exception {
    Backend v1 = backend("v1");
    Backend v2 = backend("v2");
    fixture.addCluster(cluster("v1").build(), List.of(List.of(v1.address())));
    fixture.addCluster(cluster("v2").build(), List.of(List.of(v2.address())));
    Route byQuery =
        Route.newBuilder()
            .setMatch(
                RouteMatch.newBuilder()
                    .setPrefix("/")
                    .addQueryParameters(
                        QueryParameterMatcher.newBuilder()
                            .setName("version")
                            .setStringMatch(StringMatcher.newBuilder().setExact("2"))))
            .setRoute(RouteAction.newBuilder().setCluster("v2"))
            .build();
    Route redirect =
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPrefix("/old/"))
            .setRedirect(
                RedirectAction.newBuilder()
                    .setPrefixRewrite("/new/")
                    .setResponseCode(RedirectAction.RedirectResponseCode.FOUND))
            .addResponseHeadersToAdd(
                option("x-redirected", "yes", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
            .build();
    fixture.addHost("app.test", redirect, byQuery, route("/", "v1"));
    start();

    assertThat(get("http://app.test/x?version=2").body()).isEqualTo("v2");
    assertThat(get("http://app.test/x?version=20").body()).isEqualTo("v1");
    assertThat(get("http://app.test/x").body()).isEqualTo("v1");
    HttpResponse<String> moved = get("http://app.test/old/page?q=1");
    assertThat(moved.statusCode()).isEqualTo(302);
    assertThat(moved.headers().firstValue("location")).hasValue("http://app.test/new/page?q=1");
    assertThat(moved.headers().firstValue("x-redirected")).hasValue("yes");
    assertThat(moved.body()).isEmpty();
    assertThat(v1.served.get() + v2.served.get()).isEqualTo(3);
  }

  @Test
  void aHashedHeaderKeepsEachUserOnOneBackendAndUsersSpreadOverAll() throws Exception {
    Backend a = backend("a");
    Backend b = backend("b");
    Backend c = backend("c");
    fixture.addCluster(
        cluster("app").setLbPolicy(Cluster.LbPolicy.RING_HASH).build(),
        List.of(List.of(a.address(), b.address(), c.address())));
    fixture.addHost(
        "app.test",
        route(
            "/",
            RouteAction.newBuilder()
                .setCluster("app")
                .addHashPolicy(
                    RouteAction.HashPolicy.newBuilder()
                        .setHeader(
                            RouteAction.HashPolicy.Header.newBuilder().setHeaderName("x-user")))));
    start();

    Map<String, String> backendOf = new HashMap<>();
    for (int round = 0; round < 5; round++) {
      for (int user = 0; user < 30; user++) {
        String body = get("http://app.test/", "x-user", "user-" + user).body();
        String previous = backendOf.putIfAbsent("user-" + user, body);
        assertThat(previous == null ? body : previous).as("user-" + user).isEqualTo(body);
      }
    }
    assertThat(new HashSet<>(backendOf.values())).containsExactlyInAnyOrder("a", "b", "c");
    // Without the header: any backend.
    Set<String> anonymous = new HashSet<>();
    for (int i = 0; i < 60; i++) {
      anonymous.add(get("http://app.test/").body());
    }
    assertThat(anonymous).hasSizeGreaterThan(1);
  }

  @Test
  void aResponseWithARetriableHeaderIsRetriedUnlessTheRequestIsNotRetriable() throws Exception {
    Backend flaky = backend("flaky");
    fixture.addCluster(cluster("flaky").build(), List.of(List.of(flaky.address())));
    RetryPolicy.Builder retry =
        RetryPolicy.newBuilder()
            .setRetryOn("retriable-headers")
            .setNumRetries(UInt32Value.of(1))
            .addRetriableHeaders(
                HeaderMatcher.newBuilder().setName("x-backend").setExactMatch("flaky"))
            .addRetriableRequestHeaders(
                HeaderMatcher.newBuilder().setName("x-idempotent").setPresentMatch(true));
    fixture.addHost(
        "flaky.test",
        route("/", RouteAction.newBuilder().setCluster("flaky").setRetryPolicy(retry)));
    start();

    assertThat(get("http://flaky.test/", "x-idempotent", "1").statusCode()).isEqualTo(200);
    assertThat(flaky.served.get()).isEqualTo(2);
    assertThat(get("http://flaky.test/").statusCode()).isEqualTo(200);
    assertThat(flaky.served.get()).isEqualTo(3);
  }

  @Test
  void theRoutersOwnRepliesCarryTheRoutesResponseHeadersAndANoRouteReplyDoesNot() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, null)) {
      closed = socket.getLocalPort();
    }
    fixture.addCluster(
        cluster("dead").build(), List.of(List.of(new InetSocketAddress("127.0.0.1", closed))));
    fixture.addHost(
        "dead.test",
        route("/", "dead").toBuilder()
            .addResponseHeadersToAdd(
                option("x-route", "dead", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
            .build());
    fixture.routes.addResponseHeadersToAdd(
        option("x-mesh", "fedmesh", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD));
    start();

    HttpResponse<String> failed = get("http://dead.test/");
    HttpResponse<String> noRoute = get("http://nowhere.test/");

    assertThat(failed.statusCode()).isEqualTo(503);
    assertThat(failed.headers().firstValue("x-route")).hasValue("dead");
    assertThat(failed.headers().firstValue("x-mesh")).hasValue("fedmesh");
    assertThat(noRoute.statusCode()).isEqualTo(404);
    assertThat(noRoute.headers().firstValue("x-mesh")).isEmpty();
  }
}
