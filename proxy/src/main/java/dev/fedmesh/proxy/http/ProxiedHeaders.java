package dev.fedmesh.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The header rewriting of a proxied request and its response: hop-by-hop headers (RFC 9110 §7.6.1,
 * and any a {@code Connection} header names) and HTTP/2-internal pseudo headers never cross the
 * proxy; the message framing is fixed for the HTTP/1.1 side.
 */
final class ProxiedHeaders {
  private static final List<AsciiString> HOP_BY_HOP =
      Stream.of(
              "connection",
              "keep-alive",
              "proxy-connection",
              "proxy-authorization",
              "proxy-authenticate",
              "te",
              "trailer",
              "upgrade",
              "transfer-encoding")
          .map(AsciiString::cached)
          .toList();
  private static final AsciiString HTTP2_INTERNAL = AsciiString.cached("x-http2-");
  private static final AsciiString TE = AsciiString.cached("te");
  private static final AsciiString EXPECT = AsciiString.cached("expect");

  /**
   * Headers for the proxied copies. Every name they receive is already checked: those copied came
   * through Netty's decoders (HTTP/1.1 and HTTP/2 both refuse a name that is not a token), a
   * route's additions were checked when the config was accepted ({@link HeaderMutations}), and the
   * rest are our own constants. So the names are not checked again per header (1% of a sidecar's
   * CPU under load); values still are.
   */
  private static final HttpHeadersFactory CHECKED_NAMES =
      DefaultHttpHeadersFactory.headersFactory().withNameValidation(false);

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
        new DefaultHttpRequest(
            HttpVersion.HTTP_1_1, request.method(), forward.path(), CHECKED_NAMES);
    HttpHeaders headers = out.headers();
    Set<String> connectionTokens = connectionTokens(request.headers());
    // Names and values stay as the decoder made them: no String per header, none lower-cased.
    for (var it = request.headers().iteratorCharSequence(); it.hasNext(); ) {
      var header = it.next();
      CharSequence name = header.getKey();
      if (isHopByHop(name) || isConnectionToken(connectionTokens, name)) {
        if (AsciiString.contentEqualsIgnoreCase(name, TE)
            && AsciiString.contentEqualsIgnoreCase(
                AsciiString.trim(header.getValue()), HttpHeaderValues.TRAILERS)) {
          headers.add(name, header.getValue());
        }
        continue;
      }
      if (AsciiString.contentEqualsIgnoreCase(name, EXPECT)) {
        continue; // 100-continue was answered downstream
      }
      headers.add(name, header.getValue());
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
    HttpResponse out =
        new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), CHECKED_NAMES);
    for (var it = response.headers().iteratorCharSequence(); it.hasNext(); ) {
      var header = it.next();
      if (!isHopByHop(header.getKey())) {
        out.headers().add(header.getKey(), header.getValue());
      }
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

  /**
   * Whether {@code name} never crosses a proxy: a hop-by-hop header, or an HTTP/2 pseudo header as
   * Netty's HTTP/2 to HTTP/1 translation names it.
   */
  private static boolean isHopByHop(CharSequence name) {
    for (AsciiString hop : HOP_BY_HOP) {
      if (hop.length() == name.length() && hop.contentEqualsIgnoreCase(name)) {
        return true;
      }
    }
    return AsciiString.regionMatches(name, true, 0, HTTP2_INTERNAL, 0, HTTP2_INTERNAL.length());
  }

  private static boolean isConnectionToken(Set<String> tokens, CharSequence name) {
    return !tokens.isEmpty() && tokens.contains(name.toString().toLowerCase(Locale.ROOT));
  }

  /** The header names a {@code Connection} header lists, lower-cased; most requests have none. */
  private static Set<String> connectionTokens(HttpHeaders headers) {
    if (!headers.contains(HttpHeaderNames.CONNECTION)) {
      return Set.of();
    }
    Set<String> tokens = new HashSet<>();
    for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
      for (String token : value.split(",")) {
        tokens.add(token.trim().toLowerCase(Locale.ROOT));
      }
    }
    return tokens;
  }
}
