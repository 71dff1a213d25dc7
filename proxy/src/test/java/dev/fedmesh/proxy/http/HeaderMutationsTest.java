package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Envoy's header mutations: one level's append actions, and the order of the levels. */
class HeaderMutationsTest {
  static HeaderValueOption option(String name, String value, HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(action)
        .build();
  }

  private static HeaderMutations one(List<HeaderValueOption> add, List<String> remove) {
    return HeaderMutations.of(HeaderMutations.level(add, "add", remove, "remove"));
  }

  private static HttpHeaders headers(String... pairs) {
    HttpHeaders headers = new DefaultHttpHeaders();
    for (int i = 0; i < pairs.length; i += 2) {
      headers.add(pairs[i], pairs[i + 1]);
    }
    return headers;
  }

  @Test
  void eachAppendActionActsAsInEnvoy() {
    HttpHeaders headers = headers("a", "1", "b", "1", "c", "1");
    one(
            List.of(
                option("a", "2", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD),
                option("b", "2", HeaderAppendAction.ADD_IF_ABSENT),
                option("new", "2", HeaderAppendAction.ADD_IF_ABSENT),
                option("c", "2", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD),
                option("d", "2", HeaderAppendAction.OVERWRITE_IF_EXISTS),
                option("e", "2", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)),
            List.of())
        .apply(headers);

    assertThat(headers.getAll("a")).containsExactly("1", "2");
    assertThat(headers.getAll("b")).containsExactly("1");
    assertThat(headers.getAll("new")).containsExactly("2");
    assertThat(headers.getAll("c")).containsExactly("2");
    assertThat(headers.contains("d")).isFalse();
    assertThat(headers.getAll("e")).containsExactly("2");
  }

  @Test
  void removalsComeFirstAndConditionsSeeTheHeadersBeforeTheLevelsAdditions() {
    HttpHeaders headers = headers("x-old", "1", "x-keep", "1");
    one(
            List.of(
                option("x-old", "new", HeaderAppendAction.ADD_IF_ABSENT),
                option("x-twice", "1", HeaderAppendAction.ADD_IF_ABSENT),
                option("x-twice", "2", HeaderAppendAction.ADD_IF_ABSENT),
                option("x-set", "1", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD),
                option("x-set", "2", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)),
            List.of("X-Old"))
        .apply(headers);

    assertThat(headers.getAll("x-old")).containsExactly("new");
    assertThat(headers.getAll("x-twice")).containsExactly("1", "2");
    // Overwrites are made before appends, whatever their order in the config.
    assertThat(headers.getAll("x-set")).containsExactly("1", "2");
    assertThat(headers.getAll("x-keep")).containsExactly("1");
  }

  @Test
  void theDeprecatedAppendFlagAndEmptyValuesAreReadAsEnvoyReadsThem() {
    HeaderValueOption overwrite =
        HeaderValueOption.newBuilder()
            .setHeader(HeaderValue.newBuilder().setKey("a").setValue("2"))
            .setAppend(BoolValue.of(false))
            .build();
    HeaderValueOption append =
        HeaderValueOption.newBuilder()
            .setHeader(HeaderValue.newBuilder().setKey("b").setValue("2"))
            .setAppend(BoolValue.of(true))
            .build();
    HeaderValueOption empty = option("c", "", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
    HeaderValueOption keptEmpty = empty.toBuilder().setKeepEmptyValue(true).build();
    HeaderValueOption percent = option("d", "100%%", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
    HttpHeaders headers = headers("a", "1", "b", "1");

    one(List.of(overwrite, append, empty, percent), List.of()).apply(headers);
    assertThat(headers.getAll("a")).containsExactly("2");
    assertThat(headers.getAll("b")).containsExactly("1", "2");
    assertThat(headers.contains("c")).isFalse();
    assertThat(headers.get("d")).isEqualTo("100%");

    one(List.of(keptEmpty), List.of()).apply(headers);
    assertThat(headers.getAll("c")).containsExactly("");
  }

  @Test
  void whatEnvoyRefusesIsRefusedNamingTheField() {
    assertThatThrownBy(() -> HeaderMutations.level(List.of(), "add", List.of("Host"), "remove"))
        .hasMessage("remove[0]: 'host' (expected: not a pseudo-header or host; Envoy refuses too)");
    assertThatThrownBy(() -> HeaderMutations.level(List.of(), "add", List.of(":path"), "remove"))
        .hasMessageStartingWith("remove[0]: ':path'");
    assertThatThrownBy(
            () ->
                HeaderMutations.level(
                    List.of(option(":authority", "x", HeaderAppendAction.ADD_IF_ABSENT)),
                    "route.request_headers_to_add",
                    List.of(),
                    "remove"))
        .hasMessageStartingWith("route.request_headers_to_add[0].header.key: ':authority'");
    assertThatThrownBy(
            () ->
                HeaderMutations.level(
                    List.of(
                        option(
                            "x", "%DOWNSTREAM_REMOTE_ADDRESS%", HeaderAppendAction.ADD_IF_ABSENT)),
                    "add",
                    List.of(),
                    "remove"))
        .hasMessageContaining(
            "add[0].header.value: '%DOWNSTREAM_REMOTE_ADDRESS%' (expected: a" + " literal value");
    assertThatThrownBy(
            () ->
                HeaderMutations.level(
                    List.of(
                        option("x", "1", HeaderAppendAction.OVERWRITE_IF_EXISTS).toBuilder()
                            .setAppend(BoolValue.of(true))
                            .build()),
                    "add",
                    List.of(),
                    "remove"))
        .hasMessage("add[0]: append and append_action both set (expected: only append_action)");
  }

  private static RouteConfiguration.Builder config(boolean mostSpecificWins) {
    HeaderAppendAction set = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
    HeaderAppendAction append = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
    Route route =
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRoute(
                RouteAction.newBuilder()
                    .setWeightedClusters(
                        WeightedCluster.newBuilder()
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setName("only")
                                    .setWeight(com.google.protobuf.UInt32Value.of(1))
                                    .addRequestHeadersToAdd(option("x-set", "cluster", set))
                                    .addRequestHeadersToAdd(option("x-order", "cluster", append))
                                    .addResponseHeadersToAdd(option("x-resp", "cluster", append)))))
            .addRequestHeadersToAdd(option("x-set", "route", set))
            .addRequestHeadersToAdd(option("x-order", "route", append))
            .addResponseHeadersToAdd(option("x-resp", "route", append))
            .build();
    return RouteConfiguration.newBuilder()
        .setMostSpecificHeaderMutationsWins(mostSpecificWins)
        .addRequestHeadersToAdd(option("x-set", "config", set))
        .addRequestHeadersToAdd(option("x-order", "config", append))
        .addResponseHeadersToAdd(option("x-resp", "config", append))
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName("shop")
                .addDomains("*")
                .addRequestHeadersToAdd(option("x-set", "vhost", set))
                .addRequestHeadersToAdd(option("x-order", "vhost", append))
                .addResponseHeadersToAdd(option("x-resp", "vhost", append))
                .addRoutes(route));
  }

  private static RouteTable.Decision decide(RouteConfiguration config) {
    return new RouteTable(config)
        .route("shop.test", HttpMethod.GET, "/", new DefaultHttpHeaders())
        .orElseThrow();
  }

  @Test
  void levelsApplyClusterThenRouteThenVirtualHostThenConfigSoTheLeastSpecificOverwriteWins() {
    RouteTable.Decision decision = decide(config(false).build());
    HttpHeaders request = new DefaultHttpHeaders();
    decision.requestHeaders().apply(request);
    HttpHeaders response = new DefaultHttpHeaders();
    decision.responseHeaders().apply(response);

    assertThat(request.getAll("x-order")).containsExactly("cluster", "route", "vhost", "config");
    assertThat(request.getAll("x-set")).containsExactly("config");
    assertThat(response.getAll("x-resp")).containsExactly("cluster", "route", "vhost", "config");
  }

  @Test
  void mostSpecificHeaderMutationsWinsReversesTheLevelsAfterTheCluster() {
    RouteTable.Decision decision = decide(config(true).build());
    HttpHeaders request = new DefaultHttpHeaders();
    decision.requestHeaders().apply(request);

    assertThat(request.getAll("x-order")).containsExactly("cluster", "config", "vhost", "route");
    assertThat(request.getAll("x-set")).containsExactly("route");
  }

  @Test
  void aRouteConfigurationWithAMutationEnvoyRefusesReportsWhereItIs() {
    RouteConfiguration bad =
        config(false)
            .setVirtualHosts(
                0,
                config(false).getVirtualHosts(0).toBuilder()
                    .setRoutes(
                        0,
                        config(false).getVirtualHosts(0).getRoutes(0).toBuilder()
                            .addResponseHeadersToRemove(":status")))
            .build();

    assertThat(RouteTable.problems(bad))
        .containsExactly(
            "virtual host 'shop' routes[0].response_headers_to_remove[0]: ':status' (expected: not"
                + " a pseudo-header or host; Envoy refuses too)");
    assertThat(RouteTable.problems(config(false).build())).isEmpty();
  }
}
