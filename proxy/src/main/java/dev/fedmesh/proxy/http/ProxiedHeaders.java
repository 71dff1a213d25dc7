package dev.fedmesh.proxy.http;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The header rewriting of a proxied request and its response: hop-by-hop headers (RFC 9110 §7.6.1,
 * and any a {@code Connection} header names) and HTTP/2-internal pseudo headers never cross the
 * proxy; the message framing is fixed for the HTTP/1.1 side.
 */
final class ProxiedHeaders {
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

  private ProxiedHeaders() {}

  /**
   * The request as it goes upstream on try {@code attempt}: to {@code forward}'s path and
   * authority, with hop-by-hop headers removed and the body framed for HTTP/1.1.
   *
   * @param http2Stream whether the request arrived on an HTTP/2 stream (no length means a body may
   *     still follow)
   */
  static HttpRequest upstreamRequest(
      HttpRequest request, Routing.Forward forward, int attempt, boolean http2Stream) {
    HttpRequest out =
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), forward.path());
    HttpHeaders headers = out.headers();
    Set<String> connectionTokens = connectionTokens(request.headers());
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
    forward.requestHeaders().apply(headers);
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
    return out;
  }

  /**
   * The response as it goes downstream: hop-by-hop headers removed, the route's {@code mutations}
   * applied; on HTTP/1.1, chunked when it has a body of unknown length, and {@code Connection:
   * close} when the request asked for it.
   */
  static HttpResponse downstreamResponse(
      HttpResponse response, HttpRequest request, boolean http2Stream, HeaderMutations mutations) {
    HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status());
    for (var header : response.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name) || name.startsWith("x-http2-")) {
        continue;
      }
      out.headers().add(header.getKey(), header.getValue());
    }
    mutations.apply(out.headers());
    if (!http2Stream) {
      int code = response.status().code();
      boolean bodyless =
          request.method() == HttpMethod.HEAD || code == 204 || code == 304 || code < 200;
      if (!bodyless && !HttpUtil.isContentLengthSet(out)) {
        HttpUtil.setTransferEncodingChunked(out, true);
      }
      if (!HttpUtil.isKeepAlive(request)) {
        out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    }
    return out;
  }

  private static Set<String> connectionTokens(HttpHeaders headers) {
    Set<String> tokens = new HashSet<>();
    for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
      for (String token : value.split(",")) {
        tokens.add(token.trim().toLowerCase(Locale.ROOT));
      }
    }
    return tokens;
  }
}
