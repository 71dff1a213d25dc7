package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.upstream.UpstreamCluster;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request header work of a sidecar, on one thread, in nanoseconds per call: the copy of a
 * request's headers for its upstream (hop-by-hop ones dropped, Host and framing set), the copy of a
 * response's for its downstream, and the split of a proxy-form request target. The messages are
 * decoded from bytes by Netty's own decoders, so their headers are what a sidecar really gets: a
 * browser-like request of 12 headers (with a Connection header naming one of them) and an
 * application's response of 6.
 *
 * <p>The end-to-end sidecar benchmark cannot see a change of a few percent in this work (its runs
 * differ by ±10% on two cores); this one can. Run it alone: {@code java -jar
 * benchmarks/target/benchmarks.jar ProxiedHeadersBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class ProxiedHeadersBenchmark {
  private static final String REQUEST =
      "POST /cart/items?id=7 HTTP/1.1\r\n"
          + "Host: shop.shop.svc.cluster.local:8080\r\n"
          + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
          + "Accept: application/json, text/plain, */*\r\n"
          + "Accept-Encoding: gzip, deflate, br\r\n"
          + "Accept-Language: en-GB,en;q=0.9\r\n"
          + "Content-Type: application/json\r\n"
          + "Content-Length: 0\r\n"
          + "Cookie: session=3f9a1c2b7d; theme=dark\r\n"
          + "Connection: keep-alive, X-Session-Hint\r\n"
          + "X-Session-Hint: sticky\r\n"
          + "X-Request-Id: 6a1e3c0e-4c3b-4d8e-9a37-2b8f3c1d9e77\r\n"
          + "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
          + "\r\n";
  private static final String RESPONSE =
      "HTTP/1.1 200 OK\r\n"
          + "Content-Type: application/json\r\n"
          + "Content-Length: 0\r\n"
          + "Date: Fri, 04 Dec 2026 18:00:00 GMT\r\n"
          + "Cache-Control: no-store\r\n"
          + "Keep-Alive: timeout=5\r\n"
          + "X-Envoy-Upstream-Service-Time: 3\r\n"
          + "\r\n";
  private static final String TARGET = "http://payments.shop.svc.cluster.local:8080/charge?id=7";

  private HttpRequest request;
  private HttpResponse response;
  private Routing.Forward forward;

  @Setup
  public void setUp() {
    request = decode(new EmbeddedChannel(new HttpRequestDecoder()), REQUEST);
    response = decode(new EmbeddedChannel(new HttpResponseDecoder()), RESPONSE);
    forward =
        new Routing.Forward(
            UpstreamCluster.singleHost(
                "outbound|8080||shop.shop.svc.cluster.local",
                new InetSocketAddress("127.0.0.1", 8080),
                Duration.ofSeconds(1)),
            RetryRules.NONE,
            15_000,
            "/cart/items?id=7",
            "shop.shop.svc.cluster.local:8080");
  }

  private static <T> T decode(EmbeddedChannel channel, String message) {
    channel.writeInbound(Unpooled.copiedBuffer(message, StandardCharsets.US_ASCII));
    T decoded = channel.readInbound();
    Object rest;
    while ((rest = channel.readInbound()) != null) {
      ReferenceCountUtil.release(rest); // the empty last content
    }
    channel.finishAndReleaseAll();
    return decoded;
  }

  @Benchmark
  public HttpRequest upstreamRequest() {
    return ProxiedHeaders.upstreamRequest(request, forward, 1, false);
  }

  @Benchmark
  public HttpResponse downstreamResponse() {
    return ProxiedHeaders.downstreamResponse(response, request, false, HeaderMutations.NONE);
  }

  @Benchmark
  public AbsoluteTarget absoluteTarget() {
    return AbsoluteTarget.parse(TARGET);
  }
}
