package dev.fedmesh.lab;

import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.SvidCredential;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Clients from outside the mesh, as an attacker on another network would write them: TLS with any
 * server name and with or without a client certificate (trusting whatever server answers, so that
 * only the server side can refuse), or plaintext. Each sends one HTTP request and reports what came
 * back.
 */
final class TlsProbe {
  /**
   * What the client saw.
   *
   * @param handshakeCompleted whether the client's side of the TLS handshake finished
   * @param responseBytes bytes of a response read (0: none came)
   * @param failure the exception that ended the exchange, or "EOF" when the peer just closed
   */
  record Result(boolean handshakeCompleted, int responseBytes, String failure) {
    boolean answered() {
      return responseBytes > 0;
    }
  }

  private TlsProbe() {}

  /** TLS without a client certificate. */
  static SSLContext withoutCertificate() {
    return context(null);
  }

  /** TLS presenting {@code credential} (its SVID and chain) as the client certificate. */
  static SSLContext withCertificate(SvidCredential credential) {
    return context(new KeyManager[] {SpiffeTls.keyManager(() -> Optional.of(credential))});
  }

  private static SSLContext context(KeyManager[] keyManagers) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyManagers, new TrustManager[] {new TrustAnyServer()}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Connects with {@code sni} (sent as is, underscores and all) over {@code protocol}. */
  static Result tls(
      SSLContext context, InetSocketAddress to, String sni, String protocol, String host)
      throws IOException {
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
      socket.connect(to, 5_000);
      socket.setSoTimeout(10_000);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setServerNames(List.of(hostName(sni)));
      parameters.setProtocols(new String[] {protocol});
      socket.setSSLParameters(parameters);
      boolean handshake = false;
      try {
        socket.startHandshake();
        handshake = true;
        return exchange(socket, host, handshake);
      } catch (IOException e) {
        return new Result(handshake, 0, e.toString());
      }
    }
  }

  /** A plaintext HTTP request. */
  static Result plaintext(InetSocketAddress to, String host) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(to, 5_000);
      socket.setSoTimeout(10_000);
      try {
        return exchange(socket, host, false);
      } catch (IOException e) {
        return new Result(false, 0, e.toString());
      }
    }
  }

  private static Result exchange(Socket socket, String host, boolean handshake) throws IOException {
    socket
        .getOutputStream()
        .write(
            ("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[4096];
    int total = 0;
    for (int n; (n = in.read(buffer)) > 0; ) {
      total += n;
    }
    return new Result(handshake, total, total > 0 ? "" : "EOF");
  }

  /**
   * A host_name server name sent unchecked: the JDK's {@code SNIHostName} refuses Istio's names
   * ({@code outbound_.8080_._.<fqdn>}) for their underscores, though TLS stacks send them.
   */
  static SNIServerName hostName(String name) {
    return new SNIServerName(
        StandardConstants.SNI_HOST_NAME, name.getBytes(StandardCharsets.US_ASCII)) {};
  }

  /** Accepts any server: the probe is about what the server side lets through. */
  private static final class TrustAnyServer extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
