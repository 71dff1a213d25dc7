package dev.fedmesh.gateway;

import dev.fedmesh.trust.SvidCredential;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A workload's mutual-TLS server on loopback, standing in for a sidecar's inbound listener. Line
 * protocol, one answer line per request line:
 *
 * <ul>
 *   <li>{@code hello <text>}: {@code <name> to <client SPIFFE ID>: <text>}
 *   <li>{@code sink <n>}: reads {@code n} raw bytes, answers their SHA-256 in hex
 *   <li>{@code source <n>}: answers {@code n} raw bytes (byte {@code i} is {@code i % 251})
 * </ul>
 *
 * It counts every TCP connection it accepts, before any handshake, so tests can tell that nothing
 * reached it.
 */
final class TlsBackend implements AutoCloseable {
  private final String name;
  private final SvidCredential credential;
  private final SSLServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final AtomicInteger accepted = new AtomicInteger();
  private final List<Throwable> errors = new CopyOnWriteArrayList<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();

  TlsBackend(String name, SSLContext tls, SvidCredential credential) throws IOException {
    this.name = name;
    this.credential = credential;
    this.server =
        (SSLServerSocket)
            tls.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    server.setNeedClientAuth(true);
    threads.execute(this::acceptLoop);
  }

  InetSocketAddress address() {
    return new InetSocketAddress("127.0.0.1", server.getLocalPort());
  }

  /** The leaf certificate this backend presents. */
  X509Certificate certificate() {
    return credential.svid().chain().get(0);
  }

  int acceptedConnections() {
    return accepted.get();
  }

  List<Throwable> errors() {
    return errors;
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        SSLSocket socket = (SSLSocket) server.accept();
        accepted.incrementAndGet();
        open.add(socket);
        threads.execute(() -> serve(socket));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SSLSocket socket) {
    try (socket) {
      socket.startHandshake();
      X509Certificate client = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      String clientId =
          client.getSubjectAlternativeNames().stream()
              .filter(san -> (Integer) san.get(0) == 6)
              .map(san -> (String) san.get(1))
              .findFirst()
              .orElse("?");
      DataInputStream in = new DataInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      String line;
      while ((line = readLine(in)) != null) {
        if (line.startsWith("hello ")) {
          write(out, name + " to " + clientId + ": " + line.substring(6) + "\n");
        } else if (line.startsWith("sink ")) {
          long left = Long.parseLong(line.substring(5));
          MessageDigest sha = MessageDigest.getInstance("SHA-256");
          byte[] buffer = new byte[65536];
          while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
              throw new IOException("EOF with " + left + " bytes to go");
            }
            sha.update(buffer, 0, n);
            left -= n;
          }
          write(out, HexFormat.of().formatHex(sha.digest()) + "\n");
        } else if (line.startsWith("source ")) {
          long n = Long.parseLong(line.substring(7));
          byte[] chunk = new byte[65536];
          for (long sent = 0; sent < n; ) {
            int size = (int) Math.min(chunk.length, n - sent);
            for (int i = 0; i < size; i++) {
              chunk[i] = (byte) ((sent + i) % 251);
            }
            out.write(chunk, 0, size);
            sent += size;
          }
          out.flush();
        }
      }
    } catch (Exception e) {
      errors.add(e);
    } finally {
      open.remove(socket);
    }
  }

  /** A line without buffering past it, so raw bytes after it stay readable. */
  static String readLine(java.io.InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c; (c = in.read()) >= 0; ) {
      if (c == '\n') {
        return line.toString();
      }
      line.append((char) c);
    }
    return line.length() == 0 ? null : line.toString();
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  static BufferedReader reader(Socket socket) throws IOException {
    return new BufferedReader(
        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
  }

  @Override
  public void close() throws Exception {
    server.close();
    for (Socket socket : open) {
      socket.close();
    }
    threads.shutdownNow();
    threads.awaitTermination(5, TimeUnit.SECONDS);
  }
}
