package dev.fedmesh.proxy.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** A TCP server that writes back whatever it reads. */
final class TcpEcho implements AutoCloseable {
  private final ServerSocket server;
  private final ExecutorService executor = Executors.newCachedThreadPool();

  TcpEcho() throws IOException {
    this(new InetSocketAddress("127.0.0.1", 0));
  }

  TcpEcho(InetSocketAddress bind) throws IOException {
    server = new ServerSocket();
    server.bind(bind, 50);
    executor.execute(
        () -> {
          while (!server.isClosed()) {
            try {
              Socket socket = server.accept();
              executor.execute(() -> echo(socket));
            } catch (IOException e) {
              return;
            }
          }
        });
  }

  private static void echo(Socket socket) {
    try (socket;
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream()) {
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // peer went away
    }
  }

  InetSocketAddress address() {
    return new InetSocketAddress(server.getInetAddress().getHostAddress(), server.getLocalPort());
  }

  @Override
  public void close() throws Exception {
    server.close();
    executor.shutdownNow();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }
}
