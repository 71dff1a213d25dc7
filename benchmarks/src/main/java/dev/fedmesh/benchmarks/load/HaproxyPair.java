package dev.fedmesh.benchmarks.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The reference topology: two haproxy processes with mutual TLS between them, as a pair of sidecars
 * would be. A takes plaintext HTTP and originates TLS to B with a client certificate and the peer's
 * name checked; B terminates it, requires A's certificate, and forwards to the application. Both
 * keep connections alive and reuse them, and both run one thread, as the fedmesh sidecars do. The
 * certificates are ECDSA P-256 (the mesh's own key type), made with openssl.
 */
final class HaproxyPair implements AutoCloseable {
  private final ChildProcess a;
  private final ChildProcess b;
  private final InetSocketAddress front;

  private HaproxyPair(ChildProcess a, ChildProcess b, InetSocketAddress front) {
    this.a = a;
    this.b = b;
    this.front = front;
  }

  static HaproxyPair start(Path dir, InetSocketAddress app, int threads) throws Exception {
    Path certs = Files.createDirectories(dir.resolve("haproxy-certs"));
    makeCertificates(certs);
    InetSocketAddress front = new InetSocketAddress("127.0.0.1", freePort());
    InetSocketAddress tls = new InetSocketAddress("127.0.0.1", freePort());
    String global =
        String.join(
            "\n",
            "global",
            "  nbthread " + threads,
            "  maxconn 4096",
            "  ssl-default-bind-options ssl-min-ver TLSv1.3",
            "  ssl-default-server-options ssl-min-ver TLSv1.3",
            "defaults",
            "  mode http",
            "  option http-keep-alive",
            "  timeout connect 5s",
            "  timeout client 60s",
            "  timeout server 60s",
            "  timeout http-keep-alive 60s",
            "");
    Path configA = dir.resolve("haproxy-a.cfg");
    Files.writeString(
        configA,
        global
            + String.join(
                "\n",
                "frontend plain",
                "  bind " + hostPort(front),
                "  default_backend mesh",
                "backend mesh",
                "  http-reuse always",
                "  server b "
                    + hostPort(tls)
                    + " ssl verify required ca-file "
                    + certs.resolve("ca.crt")
                    + " crt "
                    + certs.resolve("a.pem")
                    + " sni str(haproxy-b) verifyhost haproxy-b alpn http/1.1",
                ""));
    Path configB = dir.resolve("haproxy-b.cfg");
    Files.writeString(
        configB,
        global
            + String.join(
                "\n",
                "frontend mesh",
                "  bind "
                    + hostPort(tls)
                    + " ssl crt "
                    + certs.resolve("b.pem")
                    + " ca-file "
                    + certs.resolve("ca.crt")
                    + " verify required alpn http/1.1",
                "  default_backend app",
                "backend app",
                "  http-reuse always",
                "  server app " + hostPort(app),
                ""));
    ChildProcess b = null;
    ChildProcess a = null;
    try {
      b = ChildProcess.start("haproxy-b", List.of("haproxy", "-db", "-f", configB.toString()), dir);
      b.awaitPort(tls, Duration.ofSeconds(10));
      a = ChildProcess.start("haproxy-a", List.of("haproxy", "-db", "-f", configA.toString()), dir);
      a.awaitPort(front, Duration.ofSeconds(10));
      return new HaproxyPair(a, b, front);
    } catch (Exception | Error e) {
      if (a != null) {
        a.close();
      }
      if (b != null) {
        b.close();
      }
      throw e;
    }
  }

  InetSocketAddress front() {
    return front;
  }

  List<ChildProcess> processes() {
    return List.of(a, b);
  }

  @Override
  public void close() {
    a.close();
    b.close();
  }

  private static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }

  /** Free now; haproxy binds it a moment later (nothing else on this machine races for it). */
  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /**
   * A CA, and a certificate for each side signed by it; haproxy wants key and chain in one file.
   */
  private static void makeCertificates(Path dir) throws Exception {
    openssl(
        dir,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=fedmesh-bench-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign");
    for (String side : List.of("a", "b")) {
      String name = "haproxy-" + side;
      Files.writeString(
          dir.resolve(side + ".ext"),
          "subjectAltName=DNS:"
              + name
              + "\nbasicConstraints=CA:FALSE\n"
              + "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n");
      openssl(
          dir,
          "req",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          side + ".key",
          "-out",
          side + ".csr",
          "-subj",
          "/CN=" + name);
      openssl(
          dir,
          "x509",
          "-req",
          "-in",
          side + ".csr",
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-CAcreateserial",
          "-days",
          "2",
          "-out",
          side + ".crt",
          "-extfile",
          side + ".ext");
      Files.writeString(
          dir.resolve(side + ".pem"),
          Files.readString(dir.resolve(side + ".crt"))
              + Files.readString(dir.resolve(side + ".key")));
    }
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("openssl.log").toFile())
            .start();
    if (process.waitFor() != 0) {
      throw new IllegalStateException(
          "openssl " + args[0] + " failed: " + Files.readString(dir.resolve("openssl.log")));
    }
  }
}
