package dev.fedmesh.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay on loopback that a test can cut: {@link #cut()} drops every connection and refuses
 * new ones (they are accepted and closed at once) until {@link #restore()}. Put it between a client
 * and a server to simulate a network partition without stopping either.
 */
public final class TcpRelay implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean cut;
  private volatile boolean closed;

  private TcpRelay(ServerSocket server, InetSocketAddress target) {
    this.server = server;
    this.target = target;
    this.acceptor = new Thread(this::acceptLoop, "tcp-relay-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Relays 127.0.0.1:{@code <free port>} to {@code target}. */
  public static TcpRelay start(InetSocketAddress target) {
    try {
      ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      return new TcpRelay(server, target);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Drops every open connection and refuses new ones. */
  public void cut() {
    cut = true;
    closeAll();
  }

  /** Relays new connections again. */
  public void restore() {
    cut = false;
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      if (cut) {
        quietClose(client);
        continue;
      }
      try {
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        quietClose(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread thread =
        new Thread(
            () -> {
              byte[] buffer = new byte[16384];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int read;
                while ((read = in.read(buffer)) >= 0) {
                  out.write(buffer, 0, read);
                  out.flush();
                }
              } catch (IOException e) {
                // The other side went away, or the relay was cut.
              } finally {
                quietClose(from);
                quietClose(to);
              }
            },
            "tcp-relay-pump");
    thread.setDaemon(true);
    thread.start();
  }

  private void closeAll() {
    for (Socket socket : sockets) {
      quietClose(socket);
    }
    sockets.clear();
  }

  private static void quietClose(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    closeAll();
  }
}
