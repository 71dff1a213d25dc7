package dev.fedmesh.proxy.authz;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.function.Function;

/**
 * What an authorization rule can look at: the connection (the peer's proven identity, addresses,
 * SNI) and, for HTTP, the request (headers with Envoy's pseudo headers {@code :authority}, {@code
 * :method}, {@code :path}, {@code :scheme}, and the normalized path).
 *
 * @param principal the peer's SPIFFE ID (URI SAN) when it proved one with mTLS; empty on plaintext
 * @param serverName the SNI the peer asked for, or ""
 * @param headers a request header's value by lower-case name (several values joined by commas),
 *     null when absent; always null for a connection
 * @param path the request's normalized path without the query; null for a connection
 */
public record Attributes(
    Optional<String> principal,
    InetSocketAddress source,
    InetSocketAddress destination,
    String serverName,
    Function<String, String> headers,
    String path) {
  public Attributes {
    requireNonNull(principal, "principal");
    requireNonNull(source, "source");
    requireNonNull(destination, "destination");
    requireNonNull(serverName, "serverName");
    requireNonNull(headers, "headers");
  }

  /** A connection's attributes: no request. */
  public static Attributes connection(
      Optional<String> principal,
      InetSocketAddress source,
      InetSocketAddress destination,
      String serverName) {
    return new Attributes(principal, source, destination, serverName, name -> null, null);
  }

  /** These attributes with a request's headers and path. */
  public Attributes withRequest(Function<String, String> headers, String path) {
    return new Attributes(principal, source, destination, serverName, headers, path);
  }

  String header(String name) {
    return headers.apply(name);
  }
}
