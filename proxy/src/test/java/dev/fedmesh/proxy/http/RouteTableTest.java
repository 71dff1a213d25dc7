package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouteTableTest {
  private static Route route(RouteMatch.Builder match, String cluster) {
    return Route.newBuilder()
        .setMatch(match)
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .build();
  }

  private static final RouteTable TABLE =
      new RouteTable(
          RouteConfiguration.newBuilder()
              .setName("outbound")
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("shop")
                      .addDomains("shop.test")
                      .addDomains("shop.test:8080")
                      .addRoutes(route(RouteMatch.newBuilder().setPath("/exact"), "exact"))
                      .addRoutes(
                          route(
                              RouteMatch.newBuilder()
                                  .setSafeRegex(
                                      RegexMatcher.newBuilder().setRegex("/items/[0-9]+")),
                              "regex"))
                      .addRoutes(
                          route(
                              RouteMatch.newBuilder()
                                  .setPrefix("/")
                                  .addHeaders(
                                      HeaderMatcher.newBuilder()
                                          .setName(":method")
                                          .setExactMatch("POST")),
                              "writes"))
                      .addRoutes(
                          route(
                              RouteMatch.newBuilder()
                                  .setPrefix("/")
                                  .addHeaders(
                                      HeaderMatcher.newBuilder()
                                          .setName("x-canary")
                                          .setStringMatch(
                                              StringMatcher.newBuilder().setPrefix("tr"))),
                              "canary"))
                      .addRoutes(
                          Route.newBuilder()
                              .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                              .setRoute(
                                  RouteAction.newBuilder()
                                      .setCluster("default")
                                      .setTimeout(Durations.fromMillis(250)))))
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("wild")
                      .addDomains("*.example.com")
                      .addRoutes(route(RouteMatch.newBuilder().setPrefix("/"), "suffix")))
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("prefix")
                      .addDomains("api.*")
                      .addRoutes(route(RouteMatch.newBuilder().setPrefix("/"), "prefix")))
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("any")
                      .addDomains("*")
                      .addRoutes(route(RouteMatch.newBuilder().setPrefix("/fallback"), "any")))
              .build());

  private static Optional<String> cluster(
      String authority, HttpMethod method, String path, HttpHeaders headers) {
    return TABLE.route(authority, method, path, headers).map(RouteTable.Decision::cluster);
  }

  private static Optional<String> get(String authority, String path) {
    return cluster(authority, HttpMethod.GET, path, new DefaultHttpHeaders());
  }

  @Test
  void pathsMatchExactlyByRegexOrByPrefixInRouteOrder() {
    assertThat(get("shop.test", "/exact")).hasValue("exact");
    assertThat(get("shop.test", "/exact/more")).hasValue("default");
    assertThat(get("shop.test", "/items/42?x=1")).hasValue("regex");
    assertThat(get("shop.test", "/items/abc")).hasValue("default");
  }

  @Test
  void methodAndHeaderConditionsMustAllHold() {
    assertThat(cluster("shop.test", HttpMethod.POST, "/cart", new DefaultHttpHeaders()))
        .hasValue("writes");
    assertThat(
            cluster(
                "shop.test",
                HttpMethod.GET,
                "/cart",
                new DefaultHttpHeaders().add("x-canary", "true")))
        .hasValue("canary");
    assertThat(
            cluster(
                "shop.test",
                HttpMethod.GET,
                "/cart",
                new DefaultHttpHeaders().add("x-canary", "no")))
        .hasValue("default");
  }

  @Test
  void domainsMatchExactThenSuffixThenPrefixThenAnyWithOrWithoutThePort() {
    assertThat(get("shop.test:8080", "/")).hasValue("default");
    assertThat(get("SHOP.test:9999", "/")).hasValue("default");
    assertThat(get("a.example.com", "/")).hasValue("suffix");
    assertThat(get("api.internal", "/")).hasValue("prefix");
    assertThat(get("elsewhere", "/fallback")).hasValue("any");
    assertThat(get("elsewhere", "/other")).isEmpty();
  }

  @Test
  void theRouteTimeoutIsCarried() {
    assertThat(
            TABLE
                .route("shop.test", HttpMethod.GET, "/x", new DefaultHttpHeaders())
                .orElseThrow()
                .timeoutMillis())
        .isEqualTo(250);
  }

  @Test
  void connectRequestsOnlyMatchConnectRoutes() {
    assertThat(cluster("shop.test:8080", HttpMethod.CONNECT, "", new DefaultHttpHeaders()))
        .isEmpty();
  }
}
