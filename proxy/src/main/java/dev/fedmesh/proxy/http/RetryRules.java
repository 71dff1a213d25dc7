package dev.fedmesh.proxy.http;

import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.match.HeaderMatch;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A route's retry policy as Envoy reads it: which outcomes are retried ({@code retry_on}), how
 * often, the per-try timeout, whether a retry must pick a host not tried yet, and the jittered
 * exponential back-off between tries (25 ms base, 10× cap by default). {@code retriable_headers}
 * (with {@code retry_on: retriable-headers}) retries a response carrying a matching header; {@code
 * retriable_request_headers} allows retries only for requests that match one of its matchers.
 */
final class RetryRules {
  static final RetryRules NONE =
      new RetryRules(Set.of(), 0, 0, false, Set.of(), 25, 250, 0, List.of(), List.of());

  private final Set<String> on;
  private final int numRetries;
  private final long perTryTimeoutMillis;
  private final boolean previousHosts;
  private final Set<Integer> retriableStatusCodes;
  private final long baseBackoffMillis;
  private final long maxBackoffMillis;
  private final int hostSelectionAttempts;
  private final List<HeaderMatch> retriableHeaders;
  private final List<HeaderMatch> retriableRequestHeaders;

  private RetryRules(
      Set<String> on,
      int numRetries,
      long perTryTimeoutMillis,
      boolean previousHosts,
      Set<Integer> retriableStatusCodes,
      long baseBackoffMillis,
      long maxBackoffMillis,
      int hostSelectionAttempts,
      List<HeaderMatch> retriableHeaders,
      List<HeaderMatch> retriableRequestHeaders) {
    this.on = on;
    this.numRetries = numRetries;
    this.perTryTimeoutMillis = perTryTimeoutMillis;
    this.previousHosts = previousHosts;
    this.retriableStatusCodes = retriableStatusCodes;
    this.baseBackoffMillis = baseBackoffMillis;
    this.maxBackoffMillis = maxBackoffMillis;
    this.hostSelectionAttempts = hostSelectionAttempts;
    this.retriableHeaders = retriableHeaders;
    this.retriableRequestHeaders = retriableRequestHeaders;
  }

  static RetryRules of(RetryPolicy policy) {
    return of(policy, "retry_policy");
  }

  /**
   * Compiles {@code policy}.
   *
   * @param field the config field, named in errors
   * @throws IllegalArgumentException naming the field when a header matcher cannot be compiled
   */
  static RetryRules of(RetryPolicy policy, String field) {
    Set<String> on = new HashSet<>();
    for (String token : policy.getRetryOn().split(",")) {
      String trimmed = token.trim().toLowerCase(Locale.ROOT);
      if (!trimmed.isEmpty()) {
        on.add(trimmed);
      }
    }
    int retries = policy.hasNumRetries() ? policy.getNumRetries().getValue() : 1;
    long perTry = policy.hasPerTryTimeout() ? Durations.toMillis(policy.getPerTryTimeout()) : 0;
    boolean previous =
        policy.getRetryHostPredicateList().stream()
            .anyMatch(p -> p.getName().equals("envoy.retry_host_predicates.previous_hosts"));
    long base = 25;
    long max = 250;
    if (policy.hasRetryBackOff()) {
      base = Math.max(1, Durations.toMillis(policy.getRetryBackOff().getBaseInterval()));
      max =
          policy.getRetryBackOff().hasMaxInterval()
              ? Durations.toMillis(policy.getRetryBackOff().getMaxInterval())
              : base * 10;
    }
    return new RetryRules(
        Set.copyOf(on),
        retries,
        perTry,
        previous,
        Set.copyOf(policy.getRetriableStatusCodesList()),
        base,
        max,
        (int) policy.getHostSelectionRetryMaxAttempts(),
        matchers(policy.getRetriableHeadersList(), field + ".retriable_headers"),
        matchers(policy.getRetriableRequestHeadersList(), field + ".retriable_request_headers"));
  }

  private static List<HeaderMatch> matchers(List<HeaderMatcher> headers, String field) {
    List<HeaderMatch> compiled = new ArrayList<>(headers.size());
    for (int i = 0; i < headers.size(); i++) {
      try {
        compiled.add(HeaderMatch.of(headers.get(i)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(field + "[" + i + "]: " + e.getMessage(), e);
      }
    }
    return List.copyOf(compiled);
  }

  /**
   * These rules for one request: no retries at all when {@code retriable_request_headers} is set
   * and none of its matchers matches the request (Envoy's rule).
   */
  RetryRules forRequest(HttpRequest request) {
    if (retriableRequestHeaders.isEmpty()) {
      return this;
    }
    for (HeaderMatch header : retriableRequestHeaders) {
      if (header.matches(
          RouteTable.headerValue(header.name(), request.method(), request.headers()))) {
        return this;
      }
    }
    return NONE;
  }

  int numRetries() {
    return numRetries;
  }

  long perTryTimeoutMillis() {
    return perTryTimeoutMillis;
  }

  /** Whether a retry must avoid the hosts this request already tried. */
  boolean avoidPreviousHosts() {
    return previousHosts;
  }

  boolean onConnectFailure() {
    return on.contains("connect-failure") || on.contains("5xx") || on.contains("gateway-error");
  }

  boolean onReset() {
    return on.contains("reset") || on.contains("5xx");
  }

  boolean onRefusedStream() {
    return on.contains("refused-stream") || on.contains("5xx") || on.contains("reset");
  }

  /** Envoy counts a per-try timeout as a 504 from the host. */
  boolean onPerTryTimeout() {
    return on.contains("5xx") || on.contains("gateway-error") || on.contains("reset");
  }

  /** Whether a response with these headers is retried (it has not been sent on yet). */
  boolean onResponse(int status, HttpHeaders headers) {
    if (status >= 500 && on.contains("5xx")) {
      return true;
    }
    if ((status == 502 || status == 503 || status == 504) && on.contains("gateway-error")) {
      return true;
    }
    if (status == 409 && on.contains("retriable-4xx")) {
      return true;
    }
    if (on.contains("retriable-status-codes") && retriableStatusCodes.contains(status)) {
      return true;
    }
    if (on.contains("retriable-headers")) {
      for (HeaderMatch header : retriableHeaders) {
        if (header.matches(RouteTable.headerValue(header.name(), HttpMethod.GET, headers))) {
          return true;
        }
      }
    }
    String grpcStatus = headers.get("grpc-status");
    if (grpcStatus != null) {
      return switch (grpcStatus.trim()) {
        case "1" -> on.contains("cancelled");
        case "4" -> on.contains("deadline-exceeded");
        case "8" -> on.contains("resource-exhausted");
        case "13" -> on.contains("internal");
        case "14" -> on.contains("unavailable");
        default -> false;
      };
    }
    return false;
  }

  /** The wait before retry number {@code retry} (1-based): full jitter over the exponential. */
  long backoffMillis(int retry) {
    long ceiling = Math.min(maxBackoffMillis, baseBackoffMillis << Math.min(20, retry - 1));
    return ThreadLocalRandom.current().nextLong(Math.max(1, ceiling) + 1);
  }
}
