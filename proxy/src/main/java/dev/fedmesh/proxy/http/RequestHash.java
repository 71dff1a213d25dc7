package dev.fedmesh.proxy.http;

import dev.fedmesh.proxy.upstream.XxHash64;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A route's {@code hash_policy}, the key a RING_HASH or MAGLEV cluster picks a host by. Each policy
 * that finds its input contributes XXH64 of it, combined as Envoy combines them (the hash so far
 * rotated left by one, then xor); a {@code terminal} policy that produced a hash ends the list.
 * Supported: {@code header} (with its {@code regex_rewrite}), {@code query_parameter}, {@code
 * connection_properties.source_ip} and {@code cookie} without {@code ttl} (the hash of a cookie the
 * client already has; generating cookies is not supported).
 */
final class RequestHash {
  static final RequestHash NONE = new RequestHash(new Policy[0]);

  private enum Kind {
    HEADER,
    QUERY_PARAMETER,
    SOURCE_IP,
    COOKIE
  }

  private record Policy(Kind kind, String name, RegexRewrite rewrite, boolean terminal) {}

  private final Policy[] policies;

  private RequestHash(Policy[] policies) {
    this.policies = policies;
  }

  /**
   * Compiles a route's hash policies.
   *
   * @param field the config field, named in errors (e.g. {@code route.hash_policy})
   * @throws IllegalArgumentException naming the field and the expectation
   */
  static RequestHash of(List<RouteAction.HashPolicy> hashPolicies, String field) {
    List<Policy> compiled = new ArrayList<>();
    for (int i = 0; i < hashPolicies.size(); i++) {
      RouteAction.HashPolicy policy = hashPolicies.get(i);
      String at = field + "[" + i + "]";
      boolean terminal = policy.getTerminal();
      switch (policy.getPolicySpecifierCase()) {
        case HEADER -> {
          var header = policy.getHeader();
          if (header.getHeaderName().isEmpty()) {
            throw new IllegalArgumentException(
                at + ".header.header_name: empty (expected: a header name)");
          }
          RegexRewrite rewrite =
              header.hasRegexRewrite()
                  ? RegexRewrite.of(header.getRegexRewrite(), at + ".header.regex_rewrite")
                  : null;
          compiled.add(
              new Policy(
                  Kind.HEADER, header.getHeaderName().toLowerCase(Locale.ROOT), rewrite, terminal));
        }
        case QUERY_PARAMETER -> {
          if (policy.getQueryParameter().getName().isEmpty()) {
            throw new IllegalArgumentException(
                at + ".query_parameter.name: empty (expected: a parameter name)");
          }
          compiled.add(
              new Policy(
                  Kind.QUERY_PARAMETER, policy.getQueryParameter().getName(), null, terminal));
        }
        case CONNECTION_PROPERTIES -> {
          // Envoy adds nothing for source_ip: false.
          if (policy.getConnectionProperties().getSourceIp()) {
            compiled.add(new Policy(Kind.SOURCE_IP, "", null, terminal));
          }
        }
        case COOKIE -> {
          var cookie = policy.getCookie();
          if (cookie.hasTtl()) {
            throw new IllegalArgumentException(
                at
                    + ".cookie '"
                    + cookie.getName()
                    + "': ttl set (expected: no ttl; generating a cookie is not supported, only"
                    + " hashing one the client sends)");
          }
          if (cookie.getName().isEmpty()) {
            throw new IllegalArgumentException(
                at + ".cookie.name: empty (expected: a cookie name)");
          }
          compiled.add(new Policy(Kind.COOKIE, cookie.getName(), null, terminal));
        }
        default ->
            throw new IllegalArgumentException(
                at
                    + ": "
                    + policy.getPolicySpecifierCase().name().toLowerCase(Locale.ROOT)
                    + " (expected: header, query_parameter, cookie or"
                    + " connection_properties.source_ip)");
      }
    }
    return compiled.isEmpty() ? NONE : new RequestHash(compiled.toArray(new Policy[0]));
  }

  boolean isEmpty() {
    return policies.length == 0;
  }

  /**
   * Whether the request yields a hash, written to {@code out[0]}.
   *
   * @param path the request's path with its query
   * @param downstream the channel the request came on (an HTTP/2 stream's parent is the connection)
   */
  boolean hash(HttpRequest request, String authority, String path, Channel downstream, long[] out) {
    boolean found = false;
    long hash = 0;
    for (Policy policy : policies) {
      String input = input(policy, request, authority, path, downstream);
      if (input != null) {
        long next = XxHash64.hash(input);
        hash = found ? Long.rotateLeft(hash, 1) ^ next : next;
        found = true;
      }
      if (policy.terminal() && found) {
        break;
      }
    }
    out[0] = hash;
    return found;
  }

  private static String input(
      Policy policy, HttpRequest request, String authority, String path, Channel downstream) {
    return switch (policy.kind()) {
      case HEADER -> header(policy, request, authority, path);
      case QUERY_PARAMETER -> QueryParameterMatch.firstValue(path, policy.name());
      case SOURCE_IP -> {
        Channel connection = InboundRouting.connection(downstream);
        yield connection.remoteAddress() instanceof InetSocketAddress address
                && address.getAddress() != null
            ? NetUtil.toAddressString(address.getAddress())
            : null;
      }
      case COOKIE -> cookie(request, policy.name());
    };
  }

  /** Envoy hashes a header's values sorted, one after the other, each rewritten first. */
  private static String header(Policy policy, HttpRequest request, String authority, String path) {
    List<String> values =
        switch (policy.name()) {
          case ":authority", "host" -> List.of(authority);
          case ":path" -> List.of(path);
          case ":method" -> List.of(request.method().name());
          default -> request.headers().getAll(policy.name());
        };
    if (values.isEmpty()) {
      return null;
    }
    if (values.size() == 1) {
      String value = values.get(0);
      return policy.rewrite() == null ? value : policy.rewrite().apply(value);
    }
    List<String> sorted = new ArrayList<>(values.size());
    for (String value : values) {
      sorted.add(policy.rewrite() == null ? value : policy.rewrite().apply(value));
    }
    sorted.sort(null);
    return String.join("", sorted);
  }

  /** The value of cookie {@code name} in the request's Cookie headers (quotes removed). */
  static String cookie(HttpRequest request, String name) {
    for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
      int start = 0;
      while (start < header.length()) {
        int end = header.indexOf(';', start);
        if (end < 0) {
          end = header.length();
        }
        while (start < end && header.charAt(start) == ' ') {
          start++;
        }
        int eq = header.indexOf('=', start);
        if (eq > start
            && eq < end
            && eq - start == name.length()
            && header.startsWith(name, start)) {
          String value = header.substring(eq + 1, end).trim();
          if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
          }
          return value;
        }
        start = end + 1;
      }
    }
    return null;
  }
}
