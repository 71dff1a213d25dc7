package dev.fedmesh.proxy.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 application for proxy tests: answers {@code <name>} (and the request body it got),
 * can be told to fail the next requests with a status or to answer slowly, and remembers the
 * headers of every request it served.
 */
final class Backend implements AutoCloseable {
  static {
    // The JDK server writes headers and body apart; without this, Nagle + delayed ACK add 40 ms.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  final String name;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final ConcurrentLinkedQueue<Integer> scripted = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Map<String, List<String>>> requests = new ConcurrentLinkedQueue<>();

  /** The raw path (with query) of every request served, in order. */
  final ConcurrentLinkedQueue<String> paths = new ConcurrentLinkedQueue<>();

  final AtomicInteger served = new AtomicInteger();
  private volatile long delayMillis;

  Backend(String name, String host) throws IOException {
    this(name, new InetSocketAddress(host, 0));
  }

  Backend(String name, InetSocketAddress address) throws IOException {
    this.name = name;
    server = HttpServer.create(address, 128);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  Backend(String name) throws IOException {
    this(name, "127.0.0.1");
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** The next {@code count} requests get {@code status}. */
  void failNext(int count, int status) {
    for (int i = 0; i < count; i++) {
      scripted.add(status);
    }
  }

  void delay(long millis) {
    delayMillis = millis;
  }

  private void handle(HttpExchange exchange) throws IOException {
    requests.add(Map.copyOf(exchange.getRequestHeaders()));
    paths.add(
        exchange.getRequestURI().getRawPath()
            + (exchange.getRequestURI().getRawQuery() == null
                ? ""
                : "?" + exchange.getRequestURI().getRawQuery()));
    byte[] received;
    try (InputStream in = exchange.getRequestBody()) {
      received = in.readAllBytes();
    }
    long delay = delayMillis;
    if (delay > 0) {
      try {
        Thread.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Integer status = scripted.poll();
    served.incrementAndGet();
    byte[] body =
        (name + (received.length > 0 ? " got " + received.length + " bytes" : ""))
            .getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("x-backend", name);
    String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
    if (xfcc != null) {
      exchange.getResponseHeaders().set("x-seen-client-cert", xfcc);
    }
    exchange.sendResponseHeaders(status == null ? 200 : status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.stop(0);
    executor.shutdownNow();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }
}
