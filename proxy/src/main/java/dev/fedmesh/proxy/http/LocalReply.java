package dev.fedmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * A response the proxy makes itself (no route, no healthy upstream, a timeout, a bad request). A
 * gRPC caller gets it as a gRPC status in a 200 response, as Envoy answers one, so that its client
 * library reports the reason instead of a protocol error.
 */
final class LocalReply {
  private LocalReply() {}

  /**
   * The reply to {@code request} (null when no request was read, e.g. malformed headers).
   *
   * @param close whether the HTTP/1.1 connection closes after it
   */
  static FullHttpResponse of(
      HttpResponseStatus status, String message, HttpRequest request, boolean close) {
    return of(status, -1, message, request, close);
  }

  /**
   * The reply, with the gRPC status a gRPC caller gets ({@code grpcStatus}, or derived from {@code
   * status} when it is -1).
   */
  static FullHttpResponse of(
      HttpResponseStatus status,
      int grpcStatus,
      String message,
      HttpRequest request,
      boolean close) {
    FullHttpResponse response;
    if (isGrpc(request) || (grpcStatus >= 0 && request != null)) {
      response =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
      response
          .headers()
          .set(
              "grpc-status",
              grpcStatus >= 0 ? Integer.toString(grpcStatus) : grpcStatus(status.code()));
      response.headers().set("grpc-message", message);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    } else {
      ByteBuf body = Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8);
      response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    }
    if (close) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }

  /** A reply with no body (a route's redirect, whose answer is its Location). */
  static FullHttpResponse empty(HttpResponseStatus status, boolean close) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    if (close) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }

  static boolean isGrpc(HttpRequest request) {
    return request != null
        && request.headers().get(HttpHeaderNames.CONTENT_TYPE, "").startsWith("application/grpc");
  }

  /** The gRPC status for an HTTP status, as gRPC's HTTP-to-status mapping has it. */
  static String grpcStatus(int httpStatus) {
    return switch (httpStatus) {
      case 400 -> "13";
      case 401 -> "16";
      case 403 -> "7";
      case 404 -> "12";
      case 429, 502, 503, 504 -> "14";
      default -> "2";
    };
  }
}
