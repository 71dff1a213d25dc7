package dev.fedmesh.gateway;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code east-west-gateway}: one cluster's gateway, configured by the controller over xDS, running
 * until terminated; on SIGTERM it stops accepting and drains.
 */
@Command(
    name = "east-west-gateway",
    mixinStandardHelpOptions = true,
    description =
        "Passes TLS connections from other networks, by SNI and without terminating TLS, to this"
            + " cluster's exported services.")
public final class GatewayMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(GatewayMain.class);

  @Spec CommandSpec spec;

  @Option(
      names = "--controller",
      required = true,
      description = "A controller replica's xDS address host:port (repeatable).")
  List<String> controllers;

  @Option(names = "--cluster", required = true, description = "This gateway's cluster.")
  String cluster;

  @Option(names = "--network", description = "This cluster's network (default: the cluster name).")
  String network;

  @Option(names = "--region", defaultValue = "", description = "The gateway's region.")
  String region;

  @Option(names = "--zone", defaultValue = "", description = "The gateway's zone.")
  String zone;

  @Option(
      names = "--listen",
      defaultValue = "0.0.0.0:15443",
      description = "Where to accept connections, host:port (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(
      names = "--admin",
      defaultValue = "127.0.0.1:15000",
      description =
          "Where to serve /ready, /metrics and /config_dump, host:port (default:"
              + " ${DEFAULT-VALUE}).")
  String admin;

  @Option(
      names = "--node-id",
      description = "The xDS node id (default: gateway~<cluster>~<host name>).")
  String nodeId;

  @Option(
      names = "--drain-timeout",
      defaultValue = "20s",
      description =
          "How long open connections may finish at shutdown, as 20s, 500ms or 1m (default:"
              + " ${DEFAULT-VALUE}).")
  String drainTimeout;

  @Option(
      names = "--tls-dir",
      description =
          "The gateway's SVID for xDS over mutual TLS: cert-chain.pem, key.pem (of"
              + " ns/fedmesh-system/sa/fedmesh-eastwestgateway) and root-cert.pem.")
  java.nio.file.Path tlsDir;

  @Option(
      names = "--insecure-controller",
      description = "Speak plaintext xDS (the controller's --insecure-xds-address); tests only.")
  boolean insecureController;

  public static void main(String[] args) {
    System.exit(new CommandLine(new GatewayMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    for (String controller : controllers) {
      address("--controller", controller);
    }
    Duration drain = duration("--drain-timeout", drainTimeout);
    InetSocketAddress listenAddress = address("--listen", listen);
    InetSocketAddress adminAddress = address("--admin", admin);
    String id = nodeId != null ? nodeId : "gateway~" + cluster + "~" + hostName();
    var node =
        XdsConfigSource.gatewayNode(id, cluster, network == null ? cluster : network, region, zone);
    if (tlsDir == null && !insecureController) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--tls-dir: missing (expected: the gateway's certificate for xDS over mutual TLS;"
              + " --insecure-controller for plaintext tests)");
    }
    XdsConfigSource source;
    if (tlsDir != null) {
      dev.fedmesh.trust.SvidFiles.Source tls;
      try {
        tls = dev.fedmesh.trust.SvidFiles.watch(tlsDir, java.time.Clock.systemUTC());
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--tls-dir: " + e.getMessage());
      }
      source =
          XdsConfigSource.connectTls(
              controllers, node, () -> java.util.Optional.of(tls.credential()), tls::roots);
    } else {
      source = XdsConfigSource.connect(controllers, node);
    }
    EastWestGateway gateway =
        EastWestGateway.builder(source)
            .listen(listenAddress)
            .admin(adminAddress)
            .drainTimeout(drain)
            .start();
    log.info(
        "gateway {} of cluster {} on {}, admin on {}, controllers {}",
        id,
        cluster,
        gateway.address(),
        gateway.adminAddress().map(Object::toString).orElse("-"),
        controllers);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("draining for up to {} ms", drain.toMillis());
                  gateway.close();
                  stopped.countDown();
                },
                "gateway-shutdown"));
    stopped.await();
    return 0;
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "unknown";
    }
  }

  private InetSocketAddress address(String option, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try {
      if (colon <= 0) {
        throw new NumberFormatException();
      }
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(hostPort.substring(0, colon), port);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), option + ": '" + hostPort + "' (expected: host:port)");
    }
  }

  private Duration duration(String option, String text) {
    try {
      String lower = text.strip().toLowerCase(java.util.Locale.ROOT);
      if (lower.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(lower.substring(0, lower.length() - 2)));
      }
      if (lower.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(lower.substring(0, lower.length() - 1)));
      }
      if (lower.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(lower.substring(0, lower.length() - 1)));
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CommandLine.ParameterException(
        spec.commandLine(), option + ": '" + text + "' (expected: a duration such as 20s)");
  }
}
