package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.upstream.CircuitBreaker;
import dev.fedmesh.proxy.upstream.FailureKind;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proxies HTTP requests arriving on one downstream HTTP/1.1 connection or one HTTP/2 stream: routes
 * each, picks a host, sends it upstream and streams the response back, with Envoy's retry
 * semantics. The request body is forwarded as it arrives and also kept (up to {@code
 * bufferLimitBytes}) so that a retry can replay it; once more than that has been streamed, the
 * request is no longer retried, since the host may already have acted on it.
 *
 * <p>Everything runs on the downstream channel's event loop, and every upstream connection is made
 * on that same loop.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(HttpProxyHandler.class);

  /** Limits that protect the proxy and its other connections from one client. */
  record Limits(int bufferLimitBytes, long headerTimeoutMillis) {
    static final Limits DEFAULT = new Limits(64 * 1024, 10_000);
  }

  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authorization",
          "proxy-authenticate",
          "te",
          "trailer",
          "upgrade",
          "transfer-encoding");

  private final Routing routing;
  private final HttpUpstreams upstreams;
  private final BiConsumer<Channel, HttpHeaders> requestDecorator;
  private final boolean http2Stream;
  private final Limits limits;
  private final ProxyStats stats;

  private ChannelHandlerContext ctx;
  private Exchange exchange;
  private final ArrayDeque<Object> pipelined = new ArrayDeque<>();
  private ScheduledFuture<?> headerTimer;
  private boolean discardingBody;
  private boolean closeAfterResponse;

  HttpProxyHandler(
      Routing routing,
      HttpUpstreams upstreams,
      BiConsumer<Channel, HttpHeaders> requestDecorator,
      boolean http2Stream,
      Limits limits,
      ProxyStats stats) {
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
    if (http2Stream || headerTimer != null || limits.headerTimeoutMillis() <= 0) {
      return;
    }
    long bytesAtArm = bytesSeen();
    headerTimer =
        ctx.executor()
            .schedule(
                () -> {
                  headerTimer = null;
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
                },
                limits.headerTimeoutMillis(),
                TimeUnit.MILLISECONDS);
  }

  private long bytesSeen() {
    ServerPipelines.BytesSeen seen = ctx.pipeline().get(ServerPipelines.BytesSeen.class);
    return seen == null ? -1 : seen.count();
  }

  private void cancelHeaderTimer() {
    if (headerTimer != null) {
      headerTimer.cancel(false);
      headerTimer = null;
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (exchange != null && exchange.requestComplete && msg instanceof HttpRequest) {
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

  private void handle(Object msg) {
    if (msg instanceof HttpRequest request) {
      cancelHeaderTimer();
      discardingBody = false;
      if (request.decoderResult().isFailure()) {
        ReferenceCountUtil.release(msg);
        rejectMalformed(request.decoderResult().cause());
        return;
      }
      start(request);
    }
    if (msg instanceof HttpContent content) {
      if (exchange != null && !exchange.requestComplete) {
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
    } else if (uri.startsWith("http://") || uri.startsWith("https://")) {
      try {
        URI parsed = new URI(uri);
        authority = parsed.getRawAuthority();
        path =
            parsed.getRawPath() == null || parsed.getRawPath().isEmpty()
                ? "/"
                : parsed.getRawPath();
        if (parsed.getRawQuery() != null) {
          path += "?" + parsed.getRawQuery();
        }
      } catch (Exception e) {
        localReply(request, HttpResponseStatus.BAD_REQUEST, "malformed request target: " + uri);
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
    Routing.Routed routed = routing.route(request, authority, path);
    if (routed instanceof Routing.Local local) {
      localReply(request, HttpResponseStatus.valueOf(local.status()), local.message());
      return;
    }
    Routing.Forward forward = (Routing.Forward) routed;
    if (request.method() == HttpMethod.CONNECT) {
      if (http2Stream) {
        localReply(
            request, HttpResponseStatus.NOT_IMPLEMENTED, "CONNECT over HTTP/2 is not supported");
        return;
      }
      new Tunnel(forward, request).start();
      return;
    }
    exchange = new Exchange(request, forward);
    exchange.start();
  }

  private void localReply(HttpRequest request, HttpResponseStatus status, String message) {
    stats.localReply(status.code());
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
    writeLocal(status, message, request);
  }

  /** A reply made by the proxy itself; gRPC callers get it as a gRPC status, as Envoy does. */
  private void writeLocal(HttpResponseStatus status, String message, HttpRequest request) {
    boolean grpc =
        request != null
            && request
                .headers()
                .get(HttpHeaderNames.CONTENT_TYPE, "")
                .startsWith("application/grpc");
    FullHttpResponse response;
    if (grpc) {
      response =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
      response.headers().set("grpc-status", grpcStatus(status.code()));
      response.headers().set("grpc-message", message);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    } else {
      ByteBuf body = Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8);
      response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    }
    if (closeAfterResponse && !http2Stream) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
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

  private static String grpcStatus(int httpStatus) {
    return switch (httpStatus) {
      case 400 -> "13";
      case 401 -> "16";
      case 403 -> "7";
      case 404 -> "12";
      case 429, 502, 503, 504 -> "14";
      default -> "2";
    };
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
    while (!pipelined.isEmpty() && (exchange == null || !exchange.requestComplete)) {
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
    cancelHeaderTimer();
    if (exchange != null) {
      exchange.downstreamGone();
    }
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

  /** Headers for the upstream request: hop-by-hop and HTTP/2-internal headers removed. */
  private HttpRequest upstreamRequest(HttpRequest request, Routing.Forward forward, int attempt) {
    HttpRequest out =
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), forward.path());
    HttpHeaders headers = out.headers();
    Set<String> connectionTokens = new HashSet<>();
    for (String value : request.headers().getAll(HttpHeaderNames.CONNECTION)) {
      for (String token : value.split(",")) {
        connectionTokens.add(token.trim().toLowerCase(Locale.ROOT));
      }
    }
    for (var header : request.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name)
          || connectionTokens.contains(name)
          || name.startsWith("x-http2-")) {
        if (name.equals("te") && header.getValue().trim().equalsIgnoreCase("trailers")) {
          headers.add(header.getKey(), header.getValue());
        }
        continue;
      }
      if (name.equals("expect")) {
        continue; // 100-continue was answered downstream
      }
      headers.add(header.getKey(), header.getValue());
    }
    headers.set(HttpHeaderNames.HOST, forward.authority());
    if (!headers.contains("x-forwarded-proto")) {
      headers.set("x-forwarded-proto", "http");
    }
    if (attempt > 1) {
      headers.set("x-envoy-attempt-count", attempt);
    }
    boolean hasBody =
        !(request instanceof FullHttpRequest full && full.content().readableBytes() == 0)
            && (HttpUtil.isContentLengthSet(request)
                ? HttpUtil.getContentLength(request, 0L) > 0
                : HttpUtil.isTransferEncodingChunked(request) || http2Stream);
    if (request instanceof FullHttpRequest full && full.content().readableBytes() > 0) {
      HttpUtil.setContentLength(out, full.content().readableBytes());
    } else if (HttpUtil.isContentLengthSet(request)) {
      HttpUtil.setContentLength(out, HttpUtil.getContentLength(request, 0L));
    } else if (hasBody) {
      HttpUtil.setTransferEncodingChunked(out, true);
    }
    requestDecorator.accept(ctx.channel(), headers);
    return out;
  }

  /** Response headers for downstream: hop-by-hop removed, framing fixed for HTTP/1.1. */
  private HttpResponse downstreamResponse(HttpResponse response, HttpRequest request) {
    HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status());
    for (var header : response.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name) || name.startsWith("x-http2-")) {
        continue;
      }
      out.headers().add(header.getKey(), header.getValue());
    }
    if (!http2Stream) {
      int code = response.status().code();
      boolean bodyless =
          request.method() == HttpMethod.HEAD || code == 204 || code == 304 || code < 200;
      if (!bodyless && !HttpUtil.isContentLengthSet(out)) {
        HttpUtil.setTransferEncodingChunked(out, true);
      }
      if (!HttpUtil.isKeepAlive(request)) {
        closeAfterResponse = true;
        out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    }
    return out;
  }

  /** One proxied request: its tries, timers and the response relay. */
  private final class Exchange implements UpstreamStream.Listener {
    private final HttpRequest request;
    private final Routing.Forward forward;
    private final UpstreamCluster cluster;
    private final CircuitBreaker breaker;
    private final RetryRules retry;
    private final ArrayDeque<HttpContent> body = new ArrayDeque<>();
    private final Set<UpstreamHost> tried = new HashSet<>();
    private long bodyBytes;
    private boolean replayable = true;
    private boolean bodyConsumed;
    boolean requestComplete;
    private int attempt;
    private UpstreamHost host;
    private boolean hostActive;
    private boolean upstreamKeepAlive;
    private UpstreamStream stream;
    private int writtenChunks;
    private boolean responseStarted;
    private HttpResponse held;
    private final List<HttpContent> heldBody = new java.util.ArrayList<>();
    private boolean done;
    private boolean retryHeld;
    private boolean requestHeld;
    private ScheduledFuture<?> globalTimer;
    private ScheduledFuture<?> tryTimer;
    private final long startNanos = System.nanoTime();

    Exchange(HttpRequest request, Routing.Forward forward) {
      this.request = request;
      this.forward = forward;
      this.cluster = forward.cluster();
      this.breaker = cluster.circuitBreaker();
      this.retry = forward.retry();
    }

    void start() {
      if (request instanceof FullHttpRequest full) {
        // An HTTP/2 request whose headers ended the stream: no body will follow.
        requestComplete = true;
        if (full.content().isReadable()) {
          body.add(new io.netty.handler.codec.http.DefaultLastHttpContent(full.content().retain()));
          bodyBytes = full.content().readableBytes();
        } else {
          body.add(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        ReferenceCountUtil.release(full);
      }
      if (!breaker.tryAcquireRequest()) {
        fail(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            "upstream overflow: cluster " + cluster.name() + " is at its request limit",
            true);
        return;
      }
      requestHeld = true;
      if (forward.timeoutMillis() > 0) {
        globalTimer =
            ctx.executor()
                .schedule(this::onGlobalTimeout, forward.timeoutMillis(), TimeUnit.MILLISECONDS);
      }
      tryOnce();
    }

    private void tryOnce() {
      if (done) {
        return;
      }
      attempt++;
      writtenChunks = 0;
      if (attempt > 1) {
        stats.retry(cluster.name());
      }
      host = cluster.pick(retry.avoidPreviousHosts() ? tried : Set.of()).orElse(null);
      if (host == null) {
        fail(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            "no healthy upstream in cluster " + cluster.name(),
            false);
        return;
      }
      tried.add(host);
      host.startRequest();
      hostActive = true;
      UpstreamHost chosen = host;
      upstreams.open(
          ctx.channel().eventLoop(),
          cluster,
          chosen,
          this,
          opened -> {
            if (done || chosen != host) {
              opened.reset();
              return;
            }
            stream = opened;
            sendRequest();
          },
          cause -> {
            if (chosen != host || done) {
              return;
            }
            endHostRequest();
            chosen.recordFailure(FailureKind.CONNECT_FAILURE);
            log.debug("connect to {} ({}) failed: {}", chosen, cluster.name(), cause.toString());
            if (mayRetry(retry.onConnectFailure())) {
              scheduleRetry();
            } else {
              fail(
                  HttpResponseStatus.SERVICE_UNAVAILABLE,
                  "upstream connect error: " + cause.getMessage(),
                  false);
            }
          });
    }

    private void sendRequest() {
      stream.write(upstreamRequest(request, forward, attempt));
      writeBody();
      stream.flush();
      if (retry.perTryTimeoutMillis() > 0) {
        tryTimer =
            ctx.executor()
                .schedule(this::onTryTimeout, retry.perTryTimeoutMillis(), TimeUnit.MILLISECONDS);
      }
      if (!stream.isWritable()) {
        ctx.channel().config().setAutoRead(false);
      }
    }

    /** Writes what has arrived of the body and is not yet on this try's stream. */
    private void writeBody() {
      if (replayable) {
        int index = 0;
        for (HttpContent chunk : body) {
          if (index++ >= writtenChunks) {
            stream.write(chunk.retainedDuplicate());
          }
        }
        writtenChunks = body.size();
      } else {
        while (!body.isEmpty()) {
          bodyConsumed = true;
          stream.write(body.poll());
        }
      }
    }

    void onRequestContent(HttpContent content) {
      if (content instanceof LastHttpContent) {
        requestComplete = true;
      }
      bodyBytes += content.content().readableBytes();
      body.add(content);
      if (replayable && bodyBytes > limits.bufferLimitBytes()) {
        // Too big to keep for a retry: stream the rest and drop what was already sent.
        replayable = false;
        if (stream != null) {
          for (int i = 0; i < writtenChunks && !body.isEmpty(); i++) {
            body.poll().release();
            bodyConsumed = true;
          }
          writtenChunks = 0;
        }
      }
      if (stream != null && !done) {
        writeBody();
        stream.flush();
        if (!stream.isWritable()) {
          ctx.channel().config().setAutoRead(false);
        }
      } else if (!replayable && !requestComplete) {
        // Not connected yet and over the buffer: wait before reading more.
        ctx.channel().config().setAutoRead(false);
      }
    }

    private boolean mayRetry(boolean condition) {
      if (!condition || done || responseStarted || attempt > retry.numRetries() || bodyConsumed) {
        return false;
      }
      if (retryHeld) {
        breaker.releaseRetry();
        retryHeld = false;
      }
      if (!breaker.tryAcquireRetry()) {
        stats.retryBudgetExhausted(cluster.name());
        stats.failedUpstream(
            cluster.name(),
            "retry budget exhausted (" + breaker.activeRetries() + " retries active)");
        return false;
      }
      retryHeld = true;
      return true;
    }

    private void scheduleRetry() {
      cancelTryTimer();
      stream = null;
      ctx.channel().config().setAutoRead(false);
      ctx.executor()
          .schedule(
              () -> {
                if (!done) {
                  tryOnce();
                  if (!done) {
                    ctx.channel().config().setAutoRead(true);
                  }
                }
              },
              retry.backoffMillis(attempt),
              TimeUnit.MILLISECONDS);
    }

    @Override
    public void onResponse(HttpObject message) {
      if (done) {
        ReferenceCountUtil.release(message);
        return;
      }
      if (message instanceof HttpResponse response && !responseStarted) {
        int status = response.status().code();
        if (status == 100) {
          ReferenceCountUtil.release(message);
          return; // already answered downstream
        }
        cancelTryTimer();
        FailureKind failure = FailureKind.ofStatus(status);
        if (failure != null) {
          host.recordFailure(failure);
        } else {
          host.recordSuccess();
        }
        if (retry.onResponse(status, response.headers()) && mayRetry(true)) {
          ReferenceCountUtil.release(message);
          UpstreamStream abandoned = stream;
          endHostRequest();
          abandoned.reset();
          scheduleRetry();
          return;
        }
        upstreamKeepAlive = HttpUtil.isKeepAlive(response);
        if (!(message instanceof HttpContent)
            && HttpUtil.isContentLengthSet(response)
            && HttpUtil.getContentLength(response, Long.MAX_VALUE) <= limits.bufferLimitBytes()) {
          // A small response is held until it is whole: if the host dies halfway, the caller
          // has seen nothing and the request can still be retried elsewhere.
          held = downstreamResponse(response, request);
          return;
        }
        responseStarted = true;
        ctx.write(downstreamResponse(response, request));
        if (!(message instanceof HttpContent)) {
          flushOrPause();
          return;
        }
      }
      if (held != null && message instanceof HttpContent content) {
        heldBody.add(content);
        if (!(content instanceof LastHttpContent)) {
          return;
        }
        responseStarted = true;
        ctx.write(held);
        held = null;
        for (HttpContent part : heldBody) {
          ctx.write(part);
        }
        heldBody.clear();
        finish();
        return;
      }
      if (message instanceof HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (message instanceof HttpResponse) {
          // A full response object: its body and trailers follow its headers.
          LastHttpContent tail =
              new io.netty.handler.codec.http.DefaultLastHttpContent(content.content().retain());
          if (message instanceof io.netty.handler.codec.http.FullHttpResponse full) {
            tail.trailingHeaders().set(full.trailingHeaders());
          }
          ReferenceCountUtil.release(message);
          ctx.write(tail);
        } else {
          ctx.write(content);
        }
        if (last) {
          finish();
        } else {
          flushOrPause();
        }
      }
    }

    private void flushOrPause() {
      ctx.flush();
      if (!ctx.channel().isWritable() && stream != null) {
        stream.setAutoRead(false);
      }
    }

    private void finish() {
      done = true;
      boolean reusable = upstreamKeepAlive && requestComplete && stream.channel().isActive();
      UpstreamStream finished = stream;
      stream = null;
      finished.finish(reusable);
      cleanUp();
      stats.completed(cluster.name(), System.nanoTime() - startNanos);
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER)
          .addListener(
              future -> {
                if (!requestComplete) {
                  // The response ended before the request body: this connection is out of step.
                  closeAfterResponse = !http2Stream;
                  if (http2Stream) {
                    exchange = null;
                    return;
                  }
                }
                responseDone();
              });
    }

    @Override
    public void onReset(Throwable cause, boolean refused) {
      if (done) {
        return;
      }
      dropHeld();
      cancelTryTimer();
      endHostRequest();
      host.recordFailure(FailureKind.RESET);
      stream = null;
      log.debug("upstream {} ({}) reset: {}", host, cluster.name(), cause.toString());
      if (mayRetry(refused ? retry.onRefusedStream() : retry.onReset())) {
        scheduleRetry();
      } else if (!responseStarted) {
        fail(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            "upstream reset before response: " + cause.getMessage(),
            false);
      } else {
        abort();
      }
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
      if (writable && !done) {
        ctx.channel().config().setAutoRead(true);
      }
    }

    void downstreamWritabilityChanged(boolean writable) {
      if (stream != null) {
        stream.setAutoRead(writable);
      }
    }

    private void onTryTimeout() {
      tryTimer = null;
      if (done || responseStarted || stream == null) {
        return;
      }
      dropHeld();
      endHostRequest();
      host.recordFailure(FailureKind.TIMEOUT);
      UpstreamStream abandoned = stream;
      stream = null;
      abandoned.reset();
      if (mayRetry(retry.onPerTryTimeout())) {
        scheduleRetry();
      } else {
        fail(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream per-try timeout", false);
      }
    }

    private void onGlobalTimeout() {
      globalTimer = null;
      if (done) {
        return;
      }
      if (stream != null) {
        endHostRequest();
        host.recordFailure(FailureKind.TIMEOUT);
        stream.reset();
        stream = null;
      }
      if (!responseStarted) {
        fail(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout", false);
      } else {
        abort();
      }
    }

    /** The downstream went away: stop everything upstream. */
    void downstreamGone() {
      if (done) {
        return;
      }
      done = true;
      if (stream != null) {
        stream.reset();
        stream = null;
      }
      cleanUp();
    }

    private void fail(HttpResponseStatus status, String message, boolean overflow) {
      done = true;
      stats.failedUpstream(
          cluster.name(),
          status.code()
              + " "
              + message
              + " (try "
              + attempt
              + " of "
              + (retry.numRetries() + 1)
              + ", hosts tried "
              + tried
              + ", retries active "
              + breaker.activeRetries()
              + ")");
      cleanUp();
      stats.localReply(status.code());
      if (overflow) {
        stats.overflow(cluster.name());
      }
      if (!requestComplete) {
        closeAfterResponse = !http2Stream;
        discardingBody = true;
      }
      exchange = null;
      writeLocal(status, message, request);
    }

    private void abort() {
      done = true;
      cleanUp();
      stats.reset(cluster.name());
      ctx.close();
    }

    /** Forgets a response held back while it arrived: this try is over. */
    private void dropHeld() {
      held = null;
      heldBody.forEach(ReferenceCountUtil::release);
      heldBody.clear();
    }

    private void endHostRequest() {
      if (hostActive) {
        hostActive = false;
        host.endRequest();
      }
    }

    private void cancelTryTimer() {
      if (tryTimer != null) {
        tryTimer.cancel(false);
        tryTimer = null;
      }
    }

    private void cleanUp() {
      dropHeld();
      cancelTryTimer();
      if (globalTimer != null) {
        globalTimer.cancel(false);
        globalTimer = null;
      }
      endHostRequest();
      if (retryHeld) {
        breaker.releaseRetry();
        retryHeld = false;
      }
      if (requestHeld) {
        breaker.releaseRequest();
        requestHeld = false;
      }
      while (!body.isEmpty()) {
        ReferenceCountUtil.release(body.poll());
      }
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** A CONNECT tunnel: answer 200 once the upstream connection stands, then relay bytes. */
  private final class Tunnel {
    private final Routing.Forward forward;
    private final HttpRequest request;
    private final Set<UpstreamHost> tried = new HashSet<>();
    private int attempt;

    Tunnel(Routing.Forward forward, HttpRequest request) {
      this.forward = forward;
      this.request = request;
    }

    void start() {
      ctx.channel().config().setAutoRead(false);
      exchange = null;
      connect();
    }

    private void connect() {
      attempt++;
      UpstreamCluster cluster = forward.cluster();
      UpstreamHost host = cluster.pick(tried).orElse(null);
      if (host == null) {
        stats.localReply(503);
        closeAfterResponse = true;
        writeLocal(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            "no healthy upstream in cluster " + cluster.name(),
            request);
        return;
      }
      tried.add(host);
      upstreams.openTunnel(
          ctx.channel().eventLoop(),
          cluster,
          host,
          upstream -> {
            host.recordSuccess();
            if (!ctx.channel().isActive()) {
              upstream.close();
              return;
            }
            upstream.config().setAutoRead(false);
            HttpResponse ok =
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, new HttpResponseStatus(200, "Connection established"));
            ctx.writeAndFlush(ok)
                .addListener(
                    (ChannelFutureListener)
                        written -> {
                          if (!written.isSuccess()) {
                            upstream.close();
                            return;
                          }
                          stats.tunnel(cluster.name());
                          var pipeline = ctx.pipeline();
                          Channel downstream = ctx.channel();
                          for (String name : List.copyOf(pipeline.names())) {
                            var handler = pipeline.get(name);
                            if (handler instanceof HttpServerCodec
                                || handler instanceof HttpServerKeepAliveHandler
                                || handler
                                    instanceof
                                    io.netty.handler.codec.http.HttpServerExpectContinueHandler
                                || handler instanceof io.netty.handler.timeout.IdleStateHandler) {
                              pipeline.remove(handler);
                            }
                          }
                          pipeline.remove(HttpProxyHandler.this);
                          dev.fedmesh.proxy.net.Splice.join(downstream, upstream);
                        });
          },
          cause -> {
            host.recordFailure(FailureKind.CONNECT_FAILURE);
            if (attempt <= Math.max(1, forward.retry().numRetries()) && ctx.channel().isActive()) {
              connect();
            } else {
              stats.localReply(503);
              closeAfterResponse = true;
              writeLocal(
                  HttpResponseStatus.SERVICE_UNAVAILABLE,
                  "upstream connect error: " + cause.getMessage(),
                  request);
            }
          });
    }
  }
}
