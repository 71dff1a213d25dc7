package dev.fedmesh.proxy.http;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.match.HeaderMatch;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Envoy's fault filter ({@code envoy.filters.http.fault}, HTTPFault), as Istio's VirtualService
 * {@code fault} becomes: a fixed delay and/or an abort (an HTTP status, or a gRPC status for gRPC
 * callers), each on its own share of the requests whose headers match. Each request rolls its own
 * dice, so the shares hold over many requests, not for each one.
 *
 * <p>Not supported, and refused by name when configured: header-controlled delays and aborts,
 * response rate limits, {@code max_active_faults}, {@code upstream_cluster}, {@code
 * downstream_nodes} and runtime keys.
 */
public final class FaultInjection {
  public static final String FILTER = "envoy.filters.http.fault";

  /** What to do to one request: delay it, then (or instead) answer with a status. */
  record Fault(long delayMillis, int httpStatus, int grpcStatus) {
    static final Fault NONE = new Fault(0, 0, -1);

    boolean aborts() {
      return httpStatus > 0 || grpcStatus >= 0;
    }
  }

  private final long delayMillis;
  private final long delayPerMillion;
  private final int httpStatus;
  private final int grpcStatus;
  private final long abortPerMillion;
  private final List<HeaderMatch> headers;

  private FaultInjection(
      long delayMillis,
      long delayPerMillion,
      int httpStatus,
      int grpcStatus,
      long abortPerMillion,
      List<HeaderMatch> headers) {
    this.delayMillis = delayMillis;
    this.delayPerMillion = delayPerMillion;
    this.httpStatus = httpStatus;
    this.grpcStatus = grpcStatus;
    this.abortPerMillion = abortPerMillion;
    this.headers = headers;
  }

  /**
   * The fault config in a filter's or a route's typed config.
   *
   * @throws IllegalArgumentException naming the field that is invalid or not supported
   */
  public static FaultInjection of(Any config) {
    try {
      return of(config.unpack(HTTPFault.class));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(FILTER + ": does not parse (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Compiles a fault config.
   *
   * @throws IllegalArgumentException naming the field that is invalid or not supported
   */
  static FaultInjection of(HTTPFault fault) {
    List<String> unsupported = new ArrayList<>();
    if (!fault.getUpstreamCluster().isEmpty()) {
      unsupported.add("upstream_cluster");
    }
    if (fault.getDownstreamNodesCount() > 0) {
      unsupported.add("downstream_nodes");
    }
    if (fault.hasMaxActiveFaults()) {
      unsupported.add("max_active_faults");
    }
    if (fault.hasResponseRateLimit()) {
      unsupported.add("response_rate_limit");
    }
    if (fault.hasDelay() && fault.getDelay().hasHeaderDelay()) {
      unsupported.add("delay.header_delay");
    }
    if (fault.hasAbort() && fault.getAbort().hasHeaderAbort()) {
      unsupported.add("abort.header_abort");
    }
    if (!unsupported.isEmpty()) {
      throw new IllegalArgumentException(
          FILTER + ": " + String.join(", ", unsupported) + " not supported");
    }
    long delayMillis = 0;
    long delayShare = 0;
    if (fault.hasDelay()) {
      if (!fault.getDelay().hasFixedDelay()
          || Durations.isNegative(fault.getDelay().getFixedDelay())) {
        throw new IllegalArgumentException(
            FILTER + ": delay.fixed_delay missing or negative (expected: a duration >= 0)");
      }
      delayMillis = Durations.toMillis(fault.getDelay().getFixedDelay());
      delayShare = perMillion(fault.getDelay().getPercentage(), fault.getDelay().hasPercentage());
    }
    int httpStatus = 0;
    int grpcStatus = -1;
    long abortShare = 0;
    if (fault.hasAbort()) {
      if (fault.getAbort().hasHttpStatus()) {
        httpStatus = fault.getAbort().getHttpStatus();
        if (httpStatus < 200 || httpStatus >= 600) {
          throw new IllegalArgumentException(
              FILTER + ": abort.http_status " + httpStatus + " (expected: 200..599)");
        }
      } else if (fault.getAbort().hasGrpcStatus()) {
        grpcStatus = fault.getAbort().getGrpcStatus();
        if (grpcStatus > 16) {
          throw new IllegalArgumentException(
              FILTER + ": abort.grpc_status " + grpcStatus + " (expected: 0..16)");
        }
      } else {
        throw new IllegalArgumentException(
            FILTER + ": abort without http_status or grpc_status (expected: one)");
      }
      abortShare = perMillion(fault.getAbort().getPercentage(), fault.getAbort().hasPercentage());
    }
    List<HeaderMatch> headers = new ArrayList<>();
    for (HeaderMatcher header : fault.getHeadersList()) {
      headers.add(HeaderMatch.of(header));
    }
    return new FaultInjection(
        delayMillis, delayShare, httpStatus, grpcStatus, abortShare, List.copyOf(headers));
  }

  /** A share in parts per million; an unset percentage is all requests, as in Envoy. */
  private static long perMillion(FractionalPercent percent, boolean set) {
    if (!set) {
      return 1_000_000;
    }
    long scale =
        switch (percent.getDenominator()) {
          case HUNDRED -> 10_000;
          case TEN_THOUSAND -> 100;
          case MILLION -> 1;
          default ->
              throw new IllegalArgumentException(
                  FILTER + ": percentage.denominator " + percent.getDenominatorValue());
        };
    return Math.min(1_000_000, percent.getNumerator() * scale);
  }

  /** What to do to {@code request}: its own roll of the dice for the delay and the abort. */
  Fault decide(HttpRequest request, RandomGenerator random) {
    for (HeaderMatch header : headers) {
      if (!header.matches(
          RouteTable.headerValue(header.name(), request.method(), request.headers()))) {
        return Fault.NONE;
      }
    }
    long delay = delayPerMillion > 0 && roll(random, delayPerMillion) ? delayMillis : 0;
    boolean abort = abortPerMillion > 0 && roll(random, abortPerMillion);
    if (delay == 0 && !abort) {
      return Fault.NONE;
    }
    return new Fault(delay, abort ? httpStatus : 0, abort ? grpcStatus : -1);
  }

  private static boolean roll(RandomGenerator random, long perMillion) {
    return perMillion >= 1_000_000 || random.nextLong(1_000_000) < perMillion;
  }
}
