package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.telemetry.RequestRecord;
import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.telemetry.Workload;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The downstream side of proxying: one HTTP/1.1 connection or one HTTP/2 stream. Reads each
 * request, finds its authority and path, routes it, and hands it to an {@link UpstreamExchange} (or
 * a {@link ConnectTunnel}); answers locally what cannot be routed. Owns what belongs to the
 * connection rather than to one request: HTTP/1.1 pipelining (one request at a time, the next held
 * until the response is written), the slow-headers guard, and whether the connection closes after
 * the response.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter implements Downstream {
  private static final Logger log = LoggerFactory.getLogger(HttpProxyHandler.class);

  /** Limits that protect the proxy and its other connections from one client. */
  record Limits(int bufferLimitBytes, long headerTimeoutMillis) {
    static final Limits DEFAULT = new Limits(64 * 1024, 10_000);
  }

  private final Routing routing;
  private final HttpUpstreams upstreams;
  private final BiConsumer<Channel, HttpHeaders> requestDecorator;
  private final boolean http2Stream;
  private final Limits limits;
  private final ProxyStats stats;

  private final Telemetry telemetry;
  private final RequestRecord.Reporter reporter;

  private ChannelHandlerContext ctx;
  private UpstreamExchange exchange;

  /** Between a read's first message and its end ({@link #channelReadComplete}). */
  private boolean reading;

  /** The series this connection's last request was counted in: the next is usually alike. */
  private final Telemetry.LastSeries lastSeries = new Telemetry.LastSeries();

  /** The current request's telemetry, until it is reported. */
  private RequestRecord record;

  private final ArrayDeque<Object> pipelined = new ArrayDeque<>();
  // The connection's (or HTTP/2 stream's) timers, set anew for each request on it.
  private Deadline headerDeadline;
  private Deadline routeDeadline;
  private Deadline tryDeadline;
  private final Runnable onHeaderTimeout = this::onHeaderTimeout;
  private long bytesAtArm;
  private String downstreamAddress;
  private ServerPipelines.Activity activity;
  private boolean discardingBody;
  private boolean closeAfterResponse;

  HttpProxyHandler(
      Routing routing,
      HttpUpstreams upstreams,
      BiConsumer<Channel, HttpHeaders> requestDecorator,
      boolean http2Stream,
      Limits limits,
      ProxyStats stats,
      Telemetry telemetry,
      RequestRecord.Reporter reporter) {
    this.telemetry = requireNonNull(telemetry, "telemetry");
    this.reporter = requireNonNull(reporter, "reporter");
    this.routing = requireNonNull(routing, "routing");
    this.upstreams = requireNonNull(upstreams, "upstreams");
    this.requestDecorator = requireNonNull(requestDecorator, "requestDecorator");
    this.http2Stream = http2Stream;
    this.limits = requireNonNull(limits, "limits");
    this.stats = requireNonNull(stats, "stats");
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.headerDeadline = new Deadline(ctx.executor());
    this.routeDeadline = new Deadline(ctx.executor());
    this.tryDeadline = new Deadline(ctx.executor());
    if (ctx.channel().isActive()) {
      armHeaderTimer();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    armHeaderTimer();
    ctx.fireChannelActive();
  }

  /**
   * Slowloris guard: once a request has started to arrive, its headers must be complete within the
   * limit. A keep-alive connection on which nothing arrives is idle, not slow: it is left to the
   * idle timeout.
   */
  private void armHeaderTimer() {
    if (http2Stream || headerDeadline.isSet() || limits.headerTimeoutMillis() <= 0) {
      return;
    }
    bytesAtArm = bytesSeen();
    headerDeadline.set(limits.headerTimeoutMillis(), TimeUnit.MILLISECONDS, onHeaderTimeout);
  }

  private void onHeaderTimeout() {
    if (exchange != null || !ctx.channel().isActive()) {
      return;
    }
    if (bytesSeen() == bytesAtArm) {
      armHeaderTimer(); // idle so far: keep watching for a request that starts
      return;
    }
    stats.localReply(408);
    closeAfterResponse = true;
    writeLocal(HttpResponseStatus.REQUEST_TIMEOUT, "request headers timed out", null);
  }

  private long bytesSeen() {
    if (activity == null) {
      activity = ctx.pipeline().get(ServerPipelines.Activity.class);
    }
    return activity == null ? -1 : activity.bytesRead();
  }

  @Override
  public Deadline routeDeadline() {
    return routeDeadline;
  }

  @Override
  public Deadline tryDeadline() {
    return tryDeadline;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    reading = true;
    if (exchange != null && exchange.requestComplete() && msg instanceof HttpRequest) {
      // HTTP/1.1 pipelining: hold the next request until this response is done.
      pipelined.add(msg);
      ctx.channel().config().setAutoRead(false);
      return;
    }
    if (!pipelined.isEmpty()) {
      pipelined.add(msg);
      return;
    }
    handle(msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    reading = false;
    if (exchange != null) {
      exchange.downstreamReadComplete();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public boolean readInProgress() {
    return reading;
  }

  private void handle(Object msg) {
    if (msg instanceof HttpRequest request) {
      headerDeadline.clear(onHeaderTimeout);
      discardingBody = false;
      if (request.decoderResult().isFailure()) {
        ReferenceCountUtil.release(msg);
        rejectMalformed(request.decoderResult().cause());
        return;
      }
      start(request);
    }
    if (msg instanceof HttpContent content) {
      if (exchange != null && !exchange.requestComplete()) {
        exchange.onRequestContent(content);
      } else {
        content.release();
        if (content instanceof LastHttpContent && discardingBody) {
          discardingBody = false;
        }
      }
    } else if (!(msg instanceof HttpRequest)) {
      ReferenceCountUtil.release(msg);
    }
  }

  private void rejectMalformed(Throwable cause) {
    HttpResponseStatus status = HttpResponseStatus.BAD_REQUEST;
    if (cause instanceof TooLongFrameException) {
      String message = String.valueOf(cause.getMessage());
      status =
          message.contains("line")
              ? HttpResponseStatus.REQUEST_URI_TOO_LONG
              : HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    stats.localReply(status.code());
    stats.rejected("malformed request: " + cause.getMessage());
    closeAfterResponse = true;
    writeLocal(status, "malformed request: " + cause.getMessage(), null);
  }

  private void start(HttpRequest request) {
    String authority;
    String path;
    String uri = request.uri();
    if (request.method() == HttpMethod.CONNECT) {
      authority = uri;
      path = "";
    } else if (AbsoluteTarget.isAbsolute(uri)) {
      try {
        AbsoluteTarget target = AbsoluteTarget.parse(uri);
        authority = target.authority();
        path = target.path();
      } catch (IllegalArgumentException e) {
        localReply(
            request,
            HttpResponseStatus.BAD_REQUEST,
            "malformed request target: " + e.getMessage() + ": " + uri);
        return;
      }
    } else {
      authority = request.headers().get(HttpHeaderNames.HOST, "");
      path = uri;
    }
    if (authority == null || authority.isEmpty()) {
      localReply(
          request,
          HttpResponseStatus.BAD_REQUEST,
          "request has no host (expected: a Host header or an absolute URI)");
      return;
    }
    if (request.method() != HttpMethod.CONNECT) {
      record = newRecord(request, authority, path);
      PathNormalizer.Result normalized =
          PathNormalizer.normalize(path, routing.pathOptions(ctx.channel()));
      if (normalized instanceof PathNormalizer.Rejected rejected) {
        stats.rejected("request path '" + path + "' refused: " + rejected.reason());
        localReply(request, HttpResponseStatus.BAD_REQUEST, "bad path: " + rejected.reason());
        return;
      }
      if (normalized instanceof PathNormalizer.Redirect redirect) {
        redirectReply(request, redirect.location());
        return;
      }
      path = ((PathNormalizer.Normalized) normalized).path();
      record.path(path);
    }
    Routing.Routed routed = routing.route(request, authority, path, ctx.channel());
    if (routed instanceof Routing.Local local) {
      if (local.delayMillis() > 0) {
        // An injected delay before an injected abort: read nothing more until it is answered.
        ctx.channel().config().setAutoRead(false);
        ctx.executor()
            .schedule(
                () -> {
                  ctx.channel().config().setAutoRead(true);
                  if (ctx.channel().isActive()) {
                    localReply(request, local);
                  }
                },
                local.delayMillis(),
                TimeUnit.MILLISECONDS);
        return;
      }
      localReply(request, local);
      return;
    }
    Routing.Forward forward = (Routing.Forward) routed;
    if (record != null) {
      record.upstreamMutualTls(forward.cluster().mutualTls());
    }
    if (request.method() == HttpMethod.CONNECT) {
      if (http2Stream) {
        localReply(
            request, HttpResponseStatus.NOT_IMPLEMENTED, "CONNECT over HTTP/2 is not supported");
        return;
      }
      new ConnectTunnel(this, forward, request, upstreams, stats, telemetry).start();
      return;
    }
    UpstreamExchange started =
        new UpstreamExchange(this, request, forward, upstreams, limits, stats);
    exchange = started;
    if (forward.delayMillis() > 0) {
      record.flag("DI");
      // An injected delay: the request (and any body, which the exchange keeps) waits here.
      ctx.executor()
          .schedule(
              () -> {
                if (exchange == started && ctx.channel().isActive()) {
                  started.start();
                }
              },
              forward.delayMillis(),
              TimeUnit.MILLISECONDS);
      return;
    }
    started.start();
  }

  private void localReply(HttpRequest request, HttpResponseStatus status, String message) {
    stats.localReply(status.code());
    prepareLocalReply(request);
    writeLocal(status, message, request);
  }

  private void localReply(HttpRequest request, Routing.Local local) {
    stats.localReply(local.status());
    if (record != null && !local.flag().isEmpty()) {
      for (String flag : local.flag().split(",")) {
        record.flag(flag);
      }
    }
    prepareLocalReply(request);
    boolean close = closeAfterResponse && !http2Stream;
    HttpResponseStatus status = HttpResponseStatus.valueOf(local.status());
    FullHttpResponse response;
    if (local.location() != null) {
      response = LocalReply.empty(status, close);
      response.headers().set(HttpHeaderNames.LOCATION, local.location());
    } else {
      response = LocalReply.of(status, local.grpcStatus(), local.message(), request, close);
    }
    writeLocal(mutated(response, local.responseHeaders(), close));
  }

  /** A local reply with the matched route's response mutations, its framing restored after them. */
  private static FullHttpResponse mutated(
      FullHttpResponse response, HeaderMutations mutations, boolean close) {
    if (mutations.isEmpty()) {
      return response;
    }
    mutations.apply(response.headers());
    HttpUtil.setContentLength(response, response.content().readableBytes());
    response.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
    if (close) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }

  /** Before answering {@code request} locally: will its body be skipped, the connection kept? */
  private void prepareLocalReply(HttpRequest request) {
    boolean bodyPending =
        !(request instanceof FullHttpRequest)
            && (HttpUtil.isTransferEncodingChunked(request)
                || HttpUtil.getContentLength(request, 0L) > 0);
    if (bodyPending) {
      discardingBody = true;
      closeAfterResponse = !http2Stream; // do not read an unwanted body just to keep the connection
    }
    if (!HttpUtil.isKeepAlive(request)) {
      closeAfterResponse = true;
    }
  }

  /** Envoy's UNESCAPE_AND_REDIRECT: send the client to the path without escaped slashes. */
  private void redirectReply(HttpRequest request, String location) {
    stats.localReply(307);
    prepareLocalReply(request);
    FullHttpResponse response =
        LocalReply.of(
            HttpResponseStatus.TEMPORARY_REDIRECT,
            "see " + location,
            request,
            closeAfterResponse && !http2Stream);
    response.headers().set(HttpHeaderNames.LOCATION, location);
    writeLocal(response);
  }

  /** A reply made by the proxy itself (see {@link LocalReply}). */
  private void writeLocal(HttpResponseStatus status, String message, HttpRequest request) {
    writeLocal(LocalReply.of(status, message, request, closeAfterResponse && !http2Stream));
  }

  private void writeLocal(FullHttpResponse response) {
    if (record != null) {
      record.response(response.status().code(), response.headers().get("grpc-status"));
      record.addResponseBytes(response.content().readableBytes());
      report();
    }
    boolean close = closeAfterResponse;
    ctx.writeAndFlush(response)
        .addListener(
            future -> {
              if (close || http2Stream) {
                if (!http2Stream) {
                  ctx.close();
                }
              } else {
                responseDone();
              }
            });
  }

  /** The current response is fully written: serve the next pipelined request, if any. */
  private void responseDone() {
    exchange = null;
    if (closeAfterResponse) {
      ctx.close();
      return;
    }
    if (http2Stream) {
      return;
    }
    armHeaderTimer();
    while (!pipelined.isEmpty() && (exchange == null || !exchange.requestComplete())) {
      handle(pipelined.poll());
    }
    if (pipelined.isEmpty()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.downstreamWritabilityChanged(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    headerDeadline.stop();
    if (exchange != null) {
      exchange.downstreamGone();
    }
    routeDeadline.stop();
    tryDeadline.stop();
    report();
    while (!pipelined.isEmpty()) {
      ReferenceCountUtil.release(pipelined.poll());
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("downstream {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }

  @Override
  public ChannelHandlerContext ctx() {
    return ctx;
  }

  @Override
  public HttpRequest upstreamRequest(HttpRequest request, Routing.Forward forward, int attempt) {
    HttpRequest out = ProxiedHeaders.upstreamRequest(request, forward, attempt, http2Stream);
    requestDecorator.accept(ctx.channel(), out.headers());
    if (reporter == RequestRecord.Reporter.SOURCE && forward.cluster().mutualTls()) {
      // Metadata exchange, only with a peer sidecar (mTLS): never to a service outside the mesh.
      out.headers().set(Workload.HEADER, telemetry.selfHeader());
    }
    return out;
  }

  @Override
  public HttpResponse downstreamResponse(
      HttpResponse response, HttpRequest request, Routing.Forward forward) {
    if (!http2Stream && !HttpUtil.isKeepAlive(request)) {
      closeAfterResponse = true;
    }
    HttpResponse out =
        ProxiedHeaders.downstreamResponse(
            response, request, http2Stream, forward.responseHeaders());
    String peer = out.headers().get(Workload.HEADER);
    out.headers().remove(Workload.HEADER);
    if (record != null) {
      record.response(response.status().code(), response.headers().get("grpc-status"));
      if (reporter == RequestRecord.Reporter.SOURCE && peer != null) {
        record.peer(Workload.fromHeader(peer));
      }
    }
    if (reporter == RequestRecord.Reporter.DESTINATION && record != null && record.mutualTls()) {
      // Only a mesh peer (proven by mTLS) learns who answered.
      out.headers().set(Workload.HEADER, telemetry.selfHeader());
    }
    return out;
  }

  @Override
  public RequestRecord record() {
    return record;
  }

  /** Reports the current request, once. */
  private void report() {
    if (record != null) {
      telemetry.completed(record, lastSeries);
      record = null;
    }
  }

  /**
   * The telemetry of a request starting: its ids (an {@code x-request-id} is made when it has none,
   * and sent on), its caller's identity, and on the inbound side the caller's workload from the
   * metadata exchange, trusted only from a caller that proved its identity with mTLS. The header is
   * removed either way: the application never sees it.
   */
  private RequestRecord newRecord(HttpRequest request, String authority, String path) {
    HttpHeaders headers = request.headers();
    String requestId = headers.get("x-request-id");
    if (requestId == null || requestId.isEmpty()) {
      requestId = newRequestId();
      headers.set("x-request-id", requestId);
    }
    String principal = null;
    if (reporter == RequestRecord.Reporter.DESTINATION) {
      principal = InboundRouting.principal(InboundRouting.connection(ctx.channel())).orElse(null);
    }
    RequestRecord started =
        new RequestRecord(reporter)
            .request(
                request.method().name(),
                path,
                authority,
                http2Stream ? "HTTP/2" : request.protocolVersion().text(),
                LocalReply.isGrpc(request))
            .downstream(downstreamAddress(), principal);
    String userAgent = headers.get(HttpHeaderNames.USER_AGENT);
    started.ids(requestId, "-", userAgent);
    telemetry.traced(started, headers); // may name this proxy's span in traceparent
    started.ids(requestId, traceId(headers), userAgent);
    String peer = headers.get(Workload.HEADER);
    headers.remove(Workload.HEADER);
    if (peer != null && principal != null) {
      started.peer(Workload.fromHeader(peer));
    }
    return started;
  }

  /** The caller's address as the access log prints it, formatted once per connection. */
  private String downstreamAddress() {
    if (downstreamAddress == null) {
      downstreamAddress = String.valueOf(ctx.channel().remoteAddress());
    }
    return downstreamAddress;
  }

  /**
   * A random (version 4) UUID from the event loop thread's own generator: {@code UUID.randomUUID()}
   * draws from one shared SecureRandom, which every request would contend for. A request id needs
   * uniqueness, not unpredictability.
   */
  static String newRequestId() {
    java.util.concurrent.ThreadLocalRandom random =
        java.util.concurrent.ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new java.util.UUID(high, low).toString();
  }

  /** The trace a request belongs to: W3C traceparent's trace id, else B3's, else "-". */
  static String traceId(HttpHeaders headers) {
    String traceparent = headers.get("traceparent");
    if (traceparent != null) {
      String[] parts = traceparent.split("-");
      if (parts.length >= 4 && parts[1].length() == 32) {
        return parts[1];
      }
    }
    String b3 = headers.get("x-b3-traceid");
    if (b3 != null && !b3.isEmpty()) {
      return b3;
    }
    String single = headers.get("b3");
    if (single != null && single.indexOf('-') > 0) {
      return single.substring(0, single.indexOf('-'));
    }
    return "-";
  }

  @Override
  public void exchangeFinished(boolean requestComplete) {
    report();
    if (!requestComplete) {
      // The response ended before the request body: this connection is out of step.
      closeAfterResponse = !http2Stream;
      if (http2Stream) {
        exchange = null;
        return;
      }
    }
    responseDone();
  }

  @Override
  public void exchangeFailed(
      HttpResponseStatus status,
      String message,
      HttpRequest request,
      boolean requestComplete,
      String flag) {
    stats.localReply(status.code());
    if (record != null) {
      for (String f : flag.split(",")) {
        record.flag(f);
      }
    }
    if (!requestComplete) {
      closeAfterResponse = !http2Stream;
      discardingBody = true;
    }
    // Envoy's router applies the route's response mutations to its own replies too.
    HeaderMutations mutations =
        exchange != null ? exchange.forward().responseHeaders() : HeaderMutations.NONE;
    exchange = null;
    boolean close = closeAfterResponse && !http2Stream;
    writeLocal(mutated(LocalReply.of(status, message, request, close), mutations, close));
  }

  @Override
  public void exchangeAborted() {
    report();
    ctx.close();
  }
}
