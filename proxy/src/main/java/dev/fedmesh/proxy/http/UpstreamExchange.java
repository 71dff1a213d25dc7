package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.upstream.CircuitBreaker;
import dev.fedmesh.proxy.upstream.FailureKind;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.upstream.UpstreamHost;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request: its tries on one host after another, its timers and the relay of the
 * response, with Envoy's retry semantics. The request body is forwarded as it arrives and also kept
 * (up to {@code bufferLimitBytes}) so that a retry can replay it; once more than that has been
 * streamed, the request is no longer retried, since the host may already have acted on it. A small
 * response is held until it is whole, so that a host dying halfway can still be retried.
 *
 * <p>Runs on the downstream channel's event loop; every upstream connection is made on that loop.
 */
final class UpstreamExchange implements UpstreamStream.Listener {
  private static final Logger log = LoggerFactory.getLogger(UpstreamExchange.class);

  private final Downstream downstream;
  private final ChannelHandlerContext ctx;
  private final HttpUpstreams upstreams;
  private final HttpProxyHandler.Limits limits;
  private final ProxyStats stats;
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
  private boolean requestComplete;
  private int attempt;
  private UpstreamHost host;
  private boolean hostActive;
  private boolean upstreamKeepAlive;
  private UpstreamStream stream;
  private int writtenChunks;

  /** This try's stream is open, and its head waits for the body's first part (this read). */
  private boolean headPending;

  private boolean responseStarted;
  private HttpResponse held;
  private final List<HttpContent> heldBody = new ArrayList<>();
  private boolean done;
  private boolean retryHeld;
  private boolean requestHeld;
  private final Deadline routeDeadline;
  private final Deadline tryDeadline;
  private final Runnable onRouteTimeout = this::onGlobalTimeout;
  private final Runnable onTryTimeout = this::onTryTimeout;
  private final long startNanos = System.nanoTime();
  private final dev.fedmesh.proxy.telemetry.RequestRecord record;

  UpstreamExchange(
      Downstream downstream,
      HttpRequest request,
      Routing.Forward forward,
      HttpUpstreams upstreams,
      HttpProxyHandler.Limits limits,
      ProxyStats stats) {
    this.downstream = downstream;
    this.ctx = downstream.ctx();
    this.routeDeadline = downstream.routeDeadline();
    this.tryDeadline = downstream.tryDeadline();
    this.record = downstream.record();
    this.upstreams = upstreams;
    this.limits = limits;
    this.stats = stats;
    this.request = request;
    this.forward = forward;
    this.cluster = forward.cluster();
    this.breaker = cluster.circuitBreaker();
    this.retry = forward.retry().forRequest(request);
  }

  Routing.Forward forward() {
    return forward;
  }

  /** Whether the whole request has arrived from downstream. */
  boolean requestComplete() {
    return requestComplete;
  }

  void start() {
    if (request instanceof FullHttpRequest full) {
      // An HTTP/2 request whose headers ended the stream: no body will follow.
      requestComplete = true;
      if (full.content().isReadable()) {
        body.add(new DefaultLastHttpContent(full.content().retain()));
        bodyBytes = full.content().readableBytes();
        if (record != null) {
          record.addRequestBytes(bodyBytes);
        }
      } else {
        body.add(LastHttpContent.EMPTY_LAST_CONTENT);
      }
      ReferenceCountUtil.release(full);
    }
    if (!breaker.tryAcquireRequest()) {
      fail(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "upstream overflow: cluster " + cluster.name() + " is at its request limit",
          "UO");
      return;
    }
    requestHeld = true;
    if (forward.timeoutMillis() > 0) {
      routeDeadline.set(forward.timeoutMillis(), TimeUnit.MILLISECONDS, onRouteTimeout);
    }
    tryOnce();
  }

  private void tryOnce() {
    if (done) {
      return;
    }
    attempt++;
    writtenChunks = 0;
    headPending = false;
    if (attempt > 1) {
      stats.retry(cluster.name());
    }
    host =
        cluster
            .pick(retry.avoidPreviousHosts() ? tried : Set.of(), forward.hash(), forward.hashed())
            .orElse(null);
    if (host == null) {
      fail(
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "no healthy upstream in cluster " + cluster.name(),
          "UH");
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
                "UF");
          }
        });
  }

  private void sendRequest() {
    if (!requestComplete && body.isEmpty() && downstream.readInProgress()) {
      // A body's first part nearly always comes in the same read as its head: wait for it, until
      // this read ends at the latest, and send the two together.
      headPending = true;
    } else {
      writeRequest();
    }
    if (retry.perTryTimeoutMillis() > 0) {
      tryDeadline.set(retry.perTryTimeoutMillis(), TimeUnit.MILLISECONDS, onTryTimeout);
    }
  }

  /** The downstream's read ended: a head still waiting for its body goes now, on its own. */
  void downstreamReadComplete() {
    if (headPending) {
      headPending = false;
      if (stream != null && !done) {
        writeRequest();
      }
    }
  }

  /**
   * Writes this try's request head and what has arrived of the body, and flushes them. A request
   * already whole in one part, the usual small one, goes as one message, which the encoder writes
   * as one buffer.
   */
  private void writeRequest() {
    HttpRequest head = downstream.upstreamRequest(request, forward, attempt);
    if (replayable
        && requestComplete
        && body.size() == 1
        && body.peek() instanceof LastHttpContent last
        && last.trailingHeaders().isEmpty()) {
      stream.write(
          new DefaultFullHttpRequest(
              head.protocolVersion(),
              head.method(),
              head.uri(),
              last.content().retainedDuplicate(),
              head.headers(),
              EmptyHttpHeaders.INSTANCE));
      writtenChunks = 1;
    } else {
      stream.write(head);
      writeBody();
    }
    stream.flush();
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
          stream.write(duplicate(chunk));
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

  /**
   * Another reference to a body part kept for retries. Netty's own {@code retainedDuplicate} of a
   * last part copies its trailers, almost always none: then the copy shares the empty ones.
   */
  private static HttpContent duplicate(HttpContent chunk) {
    if (chunk instanceof LastHttpContent last && last.trailingHeaders().isEmpty()) {
      return new DefaultLastHttpContent(
          chunk.content().retainedDuplicate(), EmptyHttpHeaders.INSTANCE);
    }
    return chunk.retainedDuplicate();
  }

  void onRequestContent(HttpContent content) {
    if (content instanceof LastHttpContent) {
      requestComplete = true;
    }
    bodyBytes += content.content().readableBytes();
    if (record != null) {
      record.addRequestBytes(content.content().readableBytes());
    }
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
    if (stream != null && !done && headPending) {
      headPending = false;
      writeRequest();
    } else if (stream != null && !done) {
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
        held = downstream.downstreamResponse(response, request, forward);
        return;
      }
      responseStarted = true;
      ctx.write(downstream.downstreamResponse(response, request, forward));
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
      ChannelFuture written;
      if (heldBody.size() == 1) {
        // The usual small response, whole in one part: one message down the pipeline, which the
        // encoder writes as one buffer, instead of the head and its body one after the other.
        written = ctx.write(whole(held, (LastHttpContent) counted(content)));
      } else {
        ctx.write(held);
        written = null;
        for (HttpContent part : heldBody) {
          written = ctx.write(counted(part));
        }
      }
      held = null;
      heldBody.clear();
      finish(written);
      return;
    }
    if (message instanceof HttpContent content) {
      boolean last = content instanceof LastHttpContent;
      ChannelFuture written;
      if (message instanceof HttpResponse) {
        // A full response object: its body and trailers follow its headers.
        LastHttpContent tail = new DefaultLastHttpContent(content.content().retain());
        if (message instanceof FullHttpResponse full) {
          tail.trailingHeaders().set(full.trailingHeaders());
        }
        ReferenceCountUtil.release(message);
        written = ctx.write(counted(tail));
      } else {
        written = ctx.write(counted(content));
      }
      if (last) {
        finish(written);
      } else {
        flushOrPause();
      }
    }
  }

  /** Counts a part of the response on its way downstream; gRPC's status may be in its trailers. */
  private HttpContent counted(HttpContent content) {
    if (record != null) {
      record.addResponseBytes(content.content().readableBytes());
      if (content instanceof LastHttpContent last) {
        String grpcStatus = last.trailingHeaders().get("grpc-status");
        if (grpcStatus != null) {
          record.grpcStatus(grpcStatus);
        }
      }
    }
    return content;
  }

  private void flushOrPause() {
    ctx.flush();
    if (!ctx.channel().isWritable() && stream != null) {
      stream.setAutoRead(false);
    }
  }

  /**
   * A held response and its only part as one message. The part's buffer moves to the new message (a
   * last part's reference count is its buffer's), and so do its trailers.
   */
  private static FullHttpResponse whole(HttpResponse head, LastHttpContent part) {
    return new DefaultFullHttpResponse(
        head.protocolVersion(),
        head.status(),
        part.content(),
        head.headers(),
        part.trailingHeaders());
  }

  /**
   * The response is written: the exchange ends once {@code lastWrite}, its last part, is on the
   * wire, and the connection may then take its next request.
   */
  private void finish(ChannelFuture lastWrite) {
    done = true;
    boolean reusable = upstreamKeepAlive && requestComplete && stream.channel().isActive();
    UpstreamStream finished = stream;
    stream = null;
    finished.finish(reusable);
    cleanUp();
    stats.completed(cluster.name(), System.nanoTime() - startNanos);
    if (record != null) {
      record.upstream(cluster.name(), host.hostPort());
    }
    boolean complete = requestComplete;
    ctx.flush();
    lastWrite.addListener(future -> downstream.exchangeFinished(complete));
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
          "UR");
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
      fail(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream per-try timeout", "UT");
    }
  }

  private void onGlobalTimeout() {
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
      fail(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout", "UT");
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
    if (record != null) {
      record.flag("DC");
      if (host != null) {
        record.upstream(cluster.name(), host.hostPort());
      }
    }
    if (stream != null) {
      stream.reset();
      stream = null;
    }
    cleanUp();
  }

  /**
   * Gives up: the caller is answered locally.
   *
   * @param flag Envoy's response flag for why; URX is added when retries were used up
   */
  private void fail(HttpResponseStatus status, String message, String flag) {
    boolean overflow = flag.equals("UO");
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
    if (overflow) {
      stats.overflow(cluster.name());
    }
    downstream.exchangeFailed(
        status, message, request, requestComplete, attempt > 1 ? flag + ",URX" : flag);
  }

  private void abort() {
    done = true;
    cleanUp();
    stats.reset(cluster.name());
    if (record != null) {
      record.upstream(cluster.name(), host.hostPort());
      record.flag("UC");
    }
    downstream.exchangeAborted();
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
    tryDeadline.clear(onTryTimeout);
  }

  private void cleanUp() {
    dropHeld();
    cancelTryTimer();
    routeDeadline.clear(onRouteTimeout);
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
