package dev.fedmesh.proxy.http;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A sidecar's route lookup for one request, in nanoseconds, in an outbound route table of {@code
 * services} virtual hosts shaped as the controller writes them: each service under its four names
 * (FQDN and short forms, with and without the port), a header-matched canary route, a weighted
 * split and a catch-all. The request goes to a service in the middle of the table, by its FQDN with
 * the port, and falls through the canary route to the weighted one. The figure should not grow with
 * the table: hosts are found by a hash lookup, then only that host's routes are tried.
 *
 * <p>{@code java -jar benchmarks/target/benchmarks.jar RouteTableBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class RouteTableBenchmark {
  @Param({"10", "1000"})
  public int services;

  private RouteTable table;
  private String authority;
  private final HttpHeaders headers = new DefaultHttpHeaders();

  @Setup
  public void setUp() {
    RouteConfiguration.Builder config = RouteConfiguration.newBuilder().setName("outbound");
    for (int i = 0; i < services; i++) {
      String name = "svc-" + i;
      String fqdn = name + ".shop.svc.cluster.local";
      String cluster = "outbound|8080||" + fqdn;
      config.addVirtualHosts(
          VirtualHost.newBuilder()
              .setName(fqdn + ":8080")
              .addDomains(fqdn)
              .addDomains(fqdn + ":8080")
              .addDomains(name)
              .addDomains(name + ":8080")
              .addRoutes(
                  Route.newBuilder()
                      .setMatch(
                          RouteMatch.newBuilder()
                              .setPrefix("/")
                              .addHeaders(
                                  HeaderMatcher.newBuilder()
                                      .setName("x-canary")
                                      .setStringMatch(StringMatcher.newBuilder().setExact("on"))))
                      .setRoute(RouteAction.newBuilder().setCluster(cluster + "-v2")))
              .addRoutes(
                  Route.newBuilder()
                      .setMatch(RouteMatch.newBuilder().setPrefix("/api/"))
                      .setRoute(
                          RouteAction.newBuilder()
                              .setWeightedClusters(
                                  WeightedCluster.newBuilder()
                                      .addClusters(
                                          WeightedCluster.ClusterWeight.newBuilder()
                                              .setName(cluster + "-v1")
                                              .setWeight(com.google.protobuf.UInt32Value.of(90)))
                                      .addClusters(
                                          WeightedCluster.ClusterWeight.newBuilder()
                                              .setName(cluster + "-v2")
                                              .setWeight(com.google.protobuf.UInt32Value.of(10))))))
              .addRoutes(
                  Route.newBuilder()
                      .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                      .setRoute(RouteAction.newBuilder().setCluster(cluster))));
    }
    table = new RouteTable(config.build());
    authority = "svc-" + services / 2 + ".shop.svc.cluster.local:8080";
    headers.set("user-agent", "bench");
    headers.set("accept", "application/json");
    if (route().isEmpty()) {
      throw new IllegalStateException("the benchmark's request matched no route");
    }
  }

  @Benchmark
  public Optional<RouteTable.Decision> route() {
    return table.route(authority, HttpMethod.GET, "/api/orders?id=7", headers);
  }
}
