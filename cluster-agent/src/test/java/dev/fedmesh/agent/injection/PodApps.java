package dev.fedmesh.agent.injection;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The applications of {@link TransparentInterceptionIT}'s pods, unaware of any mesh: no proxy
 * settings, plain sockets and the JDK's HTTP client.
 *
 * <ul>
 *   <li>{@code server}: HTTP on :8080 answering with the {@code x-forwarded-client-cert} it got,
 *       and a line protocol on :9000 answering {@code echo:<line>}.
 *   <li>{@code http URL}: one GET; prints the status and body.
 *   <li>{@code tcp HOST PORT LINE}: sends a line, prints the answer line.
 *   <li>{@code dns}: stand-ins for a sidecar's DNS listener and a resolver on loopback, each on UDP
 *       and TCP: 127.0.0.1:15053 answers a line with {@code listener:<line>}, 127.0.0.1:53 with
 *       {@code resolver:<line>}.
 * </ul>
 *
 * Exit status 0 on success, 1 when the exchange failed (the reason is printed).
 */
public final class PodApps {
  private PodApps() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "server" -> server();
      case "http" -> http(args[1]);
      case "tcp" -> tcp(args[1], Integer.parseInt(args[2]), args[3]);
      case "dns" -> dnsStandIns();
      default -> throw new IllegalArgumentException("unknown role " + args[0]);
    }
  }

  private static void server() throws Exception {
    HttpServer http = HttpServer.create(new InetSocketAddress("0.0.0.0", 8080), 16);
    http.createContext(
        "/",
        exchange -> {
          String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
          byte[] body =
              ("path="
                      + exchange.getRequestURI()
                      + " xfcc="
                      + xfcc
                      + " from="
                      + exchange.getRemoteAddress().getAddress().getHostAddress())
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    http.start();
    ServerSocket tcp = new ServerSocket();
    tcp.bind(new InetSocketAddress("0.0.0.0", 9000));
    Thread acceptor =
        new Thread(
            () -> {
              while (true) {
                try (Socket socket = tcp.accept()) {
                  BufferedReader in =
                      new BufferedReader(
                          new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                  String line = in.readLine();
                  socket.getOutputStream().write(("echo:" + line + "\n").getBytes());
                  socket.getOutputStream().flush();
                } catch (Exception e) {
                  System.out.println("tcp: " + e);
                }
              }
            });
    acceptor.start();
    System.out.println("pod app ready: http :8080, tcp :9000");
  }

  private static void dnsStandIns() throws Exception {
    for (var answer :
        java.util.Map.of(SidecarTemplate.DNS_PORT, "listener", 53, "resolver").entrySet()) {
      InetSocketAddress address = new InetSocketAddress("127.0.0.1", answer.getKey());
      java.net.DatagramSocket udp = new java.net.DatagramSocket(address);
      ServerSocket tcp = new ServerSocket();
      tcp.bind(address);
      String tag = answer.getValue() + ":";
      daemon(
          () -> {
            byte[] buffer = new byte[512];
            while (true) {
              java.net.DatagramPacket query = new java.net.DatagramPacket(buffer, buffer.length);
              udp.receive(query);
              String line =
                  new String(query.getData(), 0, query.getLength(), StandardCharsets.UTF_8).strip();
              byte[] reply = (tag + line + "\n").getBytes(StandardCharsets.UTF_8);
              udp.send(new java.net.DatagramPacket(reply, reply.length, query.getSocketAddress()));
            }
          });
      daemon(
          () -> {
            while (true) {
              try (Socket socket = tcp.accept()) {
                String line =
                    new BufferedReader(
                            new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
                        .readLine();
                socket
                    .getOutputStream()
                    .write((tag + line + "\n").getBytes(StandardCharsets.UTF_8));
                socket.getOutputStream().flush();
              }
            }
          });
    }
    System.out.println("dns stand-ins ready: udp and tcp on 127.0.0.1:15053 and 127.0.0.1:53");
    Thread.currentThread().join();
  }

  private interface Loop {
    void run() throws Exception;
  }

  private static void daemon(Loop loop) {
    Thread thread =
        new Thread(
            () -> {
              try {
                loop.run();
              } catch (Exception e) {
                System.out.println("dns stand-in: " + e);
              }
            });
    thread.start();
  }

  private static void http(String url) {
    HttpClient client =
        HttpClient.newBuilder()
            .proxy(HttpClient.Builder.NO_PROXY)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString());
      System.out.println("status=" + response.statusCode() + " " + response.body());
      System.exit(response.statusCode() == 200 ? 0 : 1);
    } catch (Exception e) {
      System.out.println("FAILED: " + e);
      System.exit(1);
    }
  }

  private static void tcp(String host, int port, String line) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 5000);
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      String answer =
          new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
              .readLine();
      System.out.println(answer == null ? "FAILED: closed without an answer" : answer);
      System.exit(answer == null ? 1 : 0);
    } catch (Exception e) {
      System.out.println("FAILED: " + e);
      System.exit(1);
    }
  }
}
