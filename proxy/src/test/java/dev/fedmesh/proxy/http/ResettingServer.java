package dev.fedmesh.proxy.http;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Accepts connections and closes them at once with a reset: a host that dies mid-request. */
final class ResettingServer implements AutoCloseable {
  private final ServerSocket server;
  private final Thread thread;
  volatile int accepted;

  ResettingServer() throws IOException {
    server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    thread =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try (Socket socket = server.accept()) {
                  accepted++;
                  socket.getInputStream().read(); // wait for the request to start
                  socket.setSoLinger(true, 0); // RST instead of FIN
                } catch (IOException e) {
                  // closed: stop
                }
              }
            },
            "resetting-server");
    thread.setDaemon(true);
    thread.start();
  }

  InetSocketAddress address() {
    return new InetSocketAddress("127.0.0.1", server.getLocalPort());
  }

  @Override
  public void close() throws Exception {
    server.close();
    thread.join(5000);
  }
}
