package dev.fedmesh.lab;

import com.sun.net.httpserver.HttpServer;
import dev.fedmesh.proxy.http.InboundPort;
import dev.fedmesh.proxy.sidecar.Sidecar;
import dev.fedmesh.proxy.sidecar.SidecarBootstrap;
import dev.fedmesh.proxy.xds.XdsClient;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A pod as the lab runs it, without iptables: the application listens on {@code 127.0.0.1} and its
 * sidecar's inbound listener on the pod's own IP and target port, which is the only address the
 * mesh announces, so every connection to the pod passes the sidecar (mutual TLS, STRICT). The
 * application answers with the pod's name and keeps the {@code x-forwarded-client-cert} header of
 * every request it gets.
 */
final class MeshPod implements AutoCloseable {
  private final String name;
  private final String ip;
  private final HttpServer app;
  private final Sidecar sidecar;
  private final Queue<String> clientCertificates;

  private MeshPod(
      String name, String ip, HttpServer app, Sidecar sidecar, Queue<String> clientCertificates) {
    this.name = name;
    this.ip = ip;
    this.app = app;
    this.sidecar = sidecar;
    this.clientCertificates = clientCertificates;
  }

  /**
   * Starts the application, then a sidecar for {@code node} with its certificate from {@code ca}
   * and its inbound listener on {@code ip} (any free port), plus an outbound listener on {@code ip}
   * when {@code outbound} is set.
   */
  static MeshPod start(
      SidecarBootstrap.NodeIdentity node,
      String ip,
      boolean outbound,
      List<String> controllers,
      LoopbackCa ca,
      String rootsPem,
      EventLoopGroup group)
      throws Exception {
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    Queue<String> clientCertificates = new ConcurrentLinkedQueue<>();
    app.createContext(
        "/",
        exchange -> {
          String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
          clientCertificates.add(xfcc == null ? "" : xfcc);
          exchange.getRequestBody().readAllBytes();
          byte[] body = node.id().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    app.start();
    try {
      SidecarBootstrap bootstrap =
          new SidecarBootstrap(
              node,
              controllers,
              Optional.of(
                  new SidecarBootstrap.Ca(
                      ca.address(),
                      ca.token(node.namespace(), node.serviceAccount()),
                      () -> rootsPem,
                      Duration.ZERO)),
              outbound ? Optional.of(new InetSocketAddress(ip, 0)) : Optional.empty(),
              Optional.empty(),
              List.of(
                  new InboundPort(
                      new InetSocketAddress(ip, 0),
                      app.getAddress(),
                      InboundPort.AppProtocol.HTTP,
                      InboundPort.TlsMode.STRICT)),
              XdsClient.Protocol.STATE_OF_THE_WORLD,
              // These tests run the controller in plaintext: they test the data plane.
              true);
      return new MeshPod(node.id(), ip, app, Sidecar.start(bootstrap, group), clientCertificates);
    } catch (Exception | Error e) {
      app.stop(0);
      throw e;
    }
  }

  String name() {
    return name;
  }

  String ip() {
    return ip;
  }

  /** The port of the sidecar's inbound listener: the endpoint's target port. */
  int inboundPort() {
    return sidecar.proxy().inboundAddresses().get(0).getPort();
  }

  Sidecar sidecar() {
    return sidecar;
  }

  /** The {@code x-forwarded-client-cert} of each request the application got ("" when none). */
  List<String> clientCertificates() {
    return List.copyOf(clientCertificates);
  }

  /** Requests the application got. */
  int requests() {
    return clientCertificates.size();
  }

  /** The endpoint of this pod in an endpoints file, for a service whose port is named http. */
  String endpointYaml(String serviceAccount) {
    return "      - {address: "
        + ip
        + ", ports: {http: "
        + inboundPort()
        + "}, serviceAccount: "
        + serviceAccount
        + ", pod: "
        + name
        + "}\n";
  }

  @Override
  public void close() throws IOException {
    sidecar.close();
    app.stop(0);
  }
}
