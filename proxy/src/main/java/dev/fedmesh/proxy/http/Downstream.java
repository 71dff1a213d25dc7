package dev.fedmesh.proxy.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * What an {@link UpstreamExchange} needs of the downstream side that owns it: an HTTP/1.1
 * connection or one HTTP/2 stream ({@link HttpProxyHandler}). All calls on its event loop.
 */
interface Downstream {
  ChannelHandlerContext ctx();

  /**
   * The route timeout's timer. It belongs to the connection (or HTTP/2 stream), not to one request:
   * each request sets it and clears it with its own action.
   */
  Deadline routeDeadline();

  /** The per-try timeout's timer, the connection's as {@link #routeDeadline()} is. */
  Deadline tryDeadline();

  /**
   * Whether the downstream is in the middle of a read: more of the request may still come before
   * the read ends, when {@link UpstreamExchange#downstreamReadComplete()} is called.
   */
  boolean readInProgress();

  /** The request's headers for this upstream try, with the listener's own headers added. */
  HttpRequest upstreamRequest(HttpRequest request, Routing.Forward forward, int attempt);

  /**
   * The response's headers for downstream, with {@code forward}'s response mutations; notes whether
   * the connection closes after it.
   */
  HttpResponse downstreamResponse(
      HttpResponse response, HttpRequest request, Routing.Forward forward);

  /** The response was relayed in full; {@code requestComplete} is false if it beat the body. */
  void exchangeFinished(boolean requestComplete);

  /**
   * No response came from upstream: answer locally.
   *
   * @param flag Envoy's response flag for why (UH, UF, UO, UT, URX, ...)
   */
  void exchangeFailed(
      HttpResponseStatus status,
      String message,
      HttpRequest request,
      boolean requestComplete,
      String flag);

  /** What this request is reported as; null when telemetry does not follow it (CONNECT). */
  dev.fedmesh.proxy.telemetry.RequestRecord record();

  /** The response broke off after it had started: the caller can only see the connection end. */
  void exchangeAborted();
}
