package dev.fedmesh.proxy.http;

import static dev.fedmesh.proxy.http.ProxyFixture.cluster;
import static dev.fedmesh.proxy.http.ProxyFixture.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's fault filter as a route's per-filter config (the shape Istio gives VirtualService's
 * {@code fault}), measured over 2,000 requests through a real proxy.
 */
class FaultInjectionTest {
  private static final int REQUESTS = 2000;
  private final ProxyFixture fixture = new ProxyFixture();
  private HttpProxy proxy;

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
  }

  private static FractionalPercent percent(int value) {
    return FractionalPercent.newBuilder()
        .setNumerator(value)
        .setDenominator(FractionalPercent.DenominatorType.HUNDRED)
        .build();
  }

  private static Route withFault(HTTPFault fault) {
    return route("/", "app").toBuilder()
        .putTypedPerFilterConfig(FaultInjection.FILTER, Any.pack(fault))
        .build();
  }

  private HttpClient proxyFor(Route route) throws Exception {
    Backend app = fixture.closeLater(new Backend("app"));
    fixture.addCluster(cluster("app").build(), List.of(List.of(app.address())));
    fixture.addHost("app.test", route);
    proxy = fixture.outboundProxy();
    return HttpClient.newBuilder()
        .proxy(ProxySelector.of(proxy.outboundAddress().orElseThrow()))
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  private static HttpResponse<String> get(HttpClient client, String header) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://app.test/")).timeout(Duration.ofSeconds(10));
    if (header != null) {
      request.header("x-fault", header);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anAbortOnHalfTheRequestsAbortsHalfWithinFivePercent() throws Exception {
    HttpClient client =
        proxyFor(
            withFault(
                HTTPFault.newBuilder()
                    .setAbort(FaultAbort.newBuilder().setHttpStatus(503).setPercentage(percent(50)))
                    .build()));
    int aborted = 0;
    int ok = 0;
    for (int i = 0; i < REQUESTS; i++) {
      HttpResponse<String> response = get(client, null);
      if (response.statusCode() == 503) {
        assertThat(response.body()).contains("fault filter abort");
        aborted++;
      } else if (response.statusCode() == 200) {
        ok++;
      }
    }

    assertThat(aborted + ok).isEqualTo(REQUESTS);
    assertThat(aborted).isBetween(REQUESTS * 45 / 100, REQUESTS * 55 / 100);
  }

  @Test
  void aDelayOnAFifthOfTheRequestsDelaysAFifthByAtLeastItsDuration() throws Exception {
    long delayMillis = 10;
    HttpClient client =
        proxyFor(
            withFault(
                HTTPFault.newBuilder()
                    .setDelay(
                        FaultDelay.newBuilder()
                            .setFixedDelay(Durations.fromMillis(delayMillis))
                            .setPercentage(percent(20)))
                    .build()));
    int slow = 0;
    for (int i = 0; i < REQUESTS; i++) {
      long start = System.nanoTime();
      assertThat(get(client, null).statusCode()).isEqualTo(200);
      if ((System.nanoTime() - start) / 1_000_000 >= delayMillis) {
        slow++;
      }
    }
    long delayed = delays();

    // Every delayed request took at least the delay; others may be slow for their own reasons.
    assertThat(delayed).isBetween((long) REQUESTS * 15 / 100, (long) REQUESTS * 25 / 100);
    assertThat(slow).isGreaterThanOrEqualTo((int) delayed);
  }

  private long delays() {
    return proxy.stats().faultsInjected("delay");
  }

  @Test
  void aFaultWithHeadersAppliesOnlyToMatchingRequestsAndGrpcCallersGetAGrpcStatus()
      throws Exception {
    HttpClient client =
        proxyFor(
            withFault(
                HTTPFault.newBuilder()
                    .addHeaders(HeaderMatcher.newBuilder().setName("x-fault").setExactMatch("on"))
                    .setAbort(FaultAbort.newBuilder().setGrpcStatus(14))
                    .build()));

    assertThat(get(client, null).statusCode()).isEqualTo(200);
    HttpResponse<String> faulted = get(client, "on");
    assertThat(faulted.statusCode()).isEqualTo(200);
    assertThat(faulted.headers().firstValue("grpc-status")).hasValue("14");
  }

  @Test
  void aFaultWeCannotInjectIsRefusedByName() {
    HTTPFault headerDelay =
        HTTPFault.newBuilder()
            .setDelay(
                FaultDelay.newBuilder().setHeaderDelay(FaultDelay.HeaderDelay.getDefaultInstance()))
            .build();

    assertThatThrownBy(() -> FaultInjection.of(Any.pack(headerDelay)))
        .hasMessageContaining("delay.header_delay not supported");
  }
}
