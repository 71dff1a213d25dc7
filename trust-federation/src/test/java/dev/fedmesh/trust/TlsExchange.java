package dev.fedmesh.trust;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * One mutual-TLS request and answer over real sockets on 127.0.0.1: the client says who it thinks
 * the server is, the server answers with who it thinks the client is.
 */
final class TlsExchange {
  /** What each side saw: the peer's SPIFFE ID, or the error that ended its side. */
  record Result(
      Optional<String> serverSawClient,
      Optional<String> clientSawServer,
      Throwable serverError,
      Throwable clientError) {
    boolean succeeded() {
      return serverSawClient.isPresent() && clientSawServer.isPresent();
    }
  }

  private TlsExchange() {}

  static Result run(SSLContext server, SSLContext client) throws Exception {
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (SSLServerSocket listener =
        (SSLServerSocket)
            server
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setNeedClientAuth(true);
      listener.setSoTimeout(10_000);
      Future<String> serverSide =
          executor.submit(
              () -> {
                try (SSLSocket socket = (SSLSocket) listener.accept()) {
                  socket.setSoTimeout(10_000);
                  socket.startHandshake();
                  String peer = peerId(socket.getSession());
                  BufferedReader in = reader(socket);
                  in.readLine();
                  PrintWriter out = writer(socket);
                  out.println("you are " + peer);
                  out.flush();
                  return peer;
                }
              });
      Optional<String> clientSawServer = Optional.empty();
      Throwable clientError = null;
      try (SSLSocket socket =
          (SSLSocket)
              client
                  .getSocketFactory()
                  .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        String serverId = peerId(socket.getSession());
        PrintWriter out = writer(socket);
        out.println("hello " + serverId);
        out.flush();
        String answer = reader(socket).readLine();
        if (answer != null && answer.startsWith("you are ")) {
          clientSawServer = Optional.of(serverId);
        }
      } catch (Exception e) {
        clientError = e;
      }
      Optional<String> serverSawClient = Optional.empty();
      Throwable serverError = null;
      try {
        serverSawClient = Optional.of(serverSide.get(15, TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException e) {
        serverError = e.getCause();
      }
      return new Result(serverSawClient, clientSawServer, serverError, clientError);
    } finally {
      executor.shutdownNow();
      executor.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  static SSLContext context(SvidCredential credential, TrustBundleSet bundles) {
    return SpiffeTls.sslContext(
        () -> Optional.of(credential), SvidVerifier.of(bundles, TestPki.CLOCK), id -> true);
  }

  private static String peerId(SSLSession session) throws Exception {
    X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
    return CertificateFacts.uris(leaf).get(0);
  }

  private static BufferedReader reader(SSLSocket socket) throws Exception {
    return new BufferedReader(
        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
  }

  private static PrintWriter writer(SSLSocket socket) throws Exception {
    return new PrintWriter(
        new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8));
  }
}
