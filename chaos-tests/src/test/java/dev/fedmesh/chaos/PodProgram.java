package dev.fedmesh.chaos;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The applications of {@link CrossClusterDnsIT}'s pods: plain JVM programs that know nothing of the
 * mesh, resolving names with the system's resolver (the pod's {@code resolv.conf}) and calling with
 * the JDK's HTTP client, no proxy settings.
 *
 * <ul>
 *   <li>{@code resolve NAME}: prints {@code addresses=A,B} and exits 0, or {@code FAILED <reason>}
 *       and exits 1
 *   <li>{@code http URL}: prints {@code status=<code> <body>} and exits 0, or {@code FAILED
 *       <reason>} and exits 1
 *   <li>{@code server HOST:PORT}: serves HTTP until killed, answering {@code path=<path>
 *       xfcc=<x-forwarded-client-cert>}; prints {@code pod app ready} once it listens
 * </ul>
 */
public final class PodProgram {
  private PodProgram() {}

  public static void main(String[] args) throws Exception {
    // The JVM caches lookups; each run is a fresh JVM, and a failed lookup is not cached here.
    java.security.Security.setProperty("networkaddress.cache.negative.ttl", "0");
    switch (args[0]) {
      case "resolve" -> resolve(args[1]);
      case "http" -> http(args[1]);
      case "server" -> server(args[1]);
      default -> throw new IllegalArgumentException("mode: " + args[0]);
    }
  }

  private static void resolve(String name) {
    try {
      InetAddress[] addresses = InetAddress.getAllByName(name);
      System.out.println(
          "addresses="
              + Arrays.stream(addresses)
                  .map(InetAddress::getHostAddress)
                  .sorted()
                  .collect(Collectors.joining(",")));
    } catch (UnknownHostException e) {
      System.out.println("FAILED " + e);
      System.exit(1);
    }
  }

  private static void http(String url) {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString());
      System.out.println("status=" + response.statusCode() + " " + response.body());
    } catch (IOException | InterruptedException e) {
      System.out.println("FAILED " + e);
      System.exit(1);
    }
  }

  private static void server(String listen) throws IOException {
    int colon = listen.lastIndexOf(':');
    HttpServer server =
        HttpServer.create(
            new InetSocketAddress(
                listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1))),
            64);
    server.createContext(
        "/",
        exchange -> {
          String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
          byte[] body =
              ("path=" + exchange.getRequestURI() + " xfcc=" + xfcc)
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    System.out.println("pod app ready");
  }
}
