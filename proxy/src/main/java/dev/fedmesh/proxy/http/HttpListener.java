package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.telemetry.RequestRecord;
import dev.fedmesh.proxy.telemetry.Telemetry;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.function.BiConsumer;

/**
 * What every HTTP connection of one listener shares: how requests are routed, the upstream
 * connections, the headers the listener adds (the caller's identity, inbound), limits, stats, and
 * which side of a call the listener reports as.
 */
record HttpListener(
    Routing routing,
    HttpUpstreams upstreams,
    BiConsumer<Channel, HttpHeaders> decorator,
    HttpProxyHandler.Limits limits,
    ProxyStats stats,
    Telemetry telemetry,
    RequestRecord.Reporter reporter) {

  /** The handler for one HTTP/1.1 connection or one HTTP/2 stream. */
  HttpProxyHandler handler(boolean http2Stream) {
    return new HttpProxyHandler(
        routing, upstreams, decorator, http2Stream, limits, stats, telemetry, reporter);
  }
}
