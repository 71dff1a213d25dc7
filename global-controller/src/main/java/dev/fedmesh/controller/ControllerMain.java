package dev.fedmesh.controller;

import dev.fedmesh.controller.model.FailoverOrder;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SpiffeId;
import dev.fedmesh.trust.SvidFiles;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code global-controller}: runs one controller replica until it is terminated. */
@Command(
    name = "global-controller",
    mixinStandardHelpOptions = true,
    description = "Runs one replica of the fedmesh global controller.")
public final class ControllerMain implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--etcd",
      split = ",",
      defaultValue = "http://127.0.0.1:2379",
      description = "etcd client URLs, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> etcd;

  @Option(
      names = "--xds-address",
      defaultValue = "127.0.0.1:15012",
      description =
          "Where xDS and federation listen over mutual TLS (default: ${DEFAULT-VALUE}); needs"
              + " --tls-dir.")
  String xdsAddress;

  @Option(
      names = "--tls-dir",
      description =
          "The replica's SVID: cert-chain.pem, key.pem and root-cert.pem (the roots proxies'"
              + " certificates chain to). 'fedmesh ca control-plane-cert --component controller' writes one.")
  Path tlsDir;

  @Option(
      names = "--insecure-xds-address",
      description =
          "Also serve xDS and federation in plaintext here, where no client proves who it is."
              + " For local experiments only; without --tls-dir it is the only listener.")
  String insecureXdsAddress;

  @Option(
      names = "--insecure-any-agent",
      description =
          "Let any client speak for any cluster (no --agent-tokens). Logs a warning on every"
              + " agent connection; for local experiments only.")
  boolean insecureAnyAgent;

  @Option(
      names = "--max-proxy-groups-per-cluster",
      defaultValue = "128",
      description =
          "Distinct (role, network, locality) proxy groups one cluster may have; a new one past it"
              + " is refused (default: ${DEFAULT-VALUE}).")
  int maxGroupsPerCluster;

  @Option(
      names = "--admin-token-file",
      description =
          "File holding the bearer token the admin API's /status, /proxies and /debug require.")
  Path adminTokenFile;

  @Option(
      names = "--admin-address",
      defaultValue = "127.0.0.1:15014",
      description = "Where the admin API and metrics listen (default: ${DEFAULT-VALUE}).")
  String adminAddress;

  @Option(names = "--replica-id", description = "This replica's name (default: controller-<pid>).")
  String replicaId;

  @Option(
      names = "--session-ttl",
      defaultValue = "10s",
      description = "How long a cluster stays connected after its agent's last keep-alive.")
  String sessionTtl;

  @Option(
      names = "--region-failover",
      description =
          "Failover order of a region, nearest first: us-east=us-west,eu-central (repeatable).")
  List<String> regionFailover = new ArrayList<>();

  @Option(
      names = "--liveness-grace",
      defaultValue = "60s",
      description = "How long a disconnected cluster's endpoints keep their priority.")
  String livenessGrace;

  @Option(
      names = "--liveness-expiry",
      defaultValue = "24h",
      description = "How long after disconnecting a cluster's endpoints stop being served.")
  String livenessExpiry;

  @Option(
      names = "--virtual-address-range",
      defaultValue = dev.fedmesh.controller.store.VirtualAddresses.DEFAULT_RANGE,
      description =
          "IPv4 range of the virtual addresses given to exported services and ServiceEntry hosts"
              + " without addresses (default: ${DEFAULT-VALUE}).")
  String virtualAddressRange;

  @Option(
      names = "--virtual-address-release-grace",
      defaultValue = "5m",
      description = "How long a virtual address outlives the last service that needs it.")
  String virtualAddressReleaseGrace;

  @Option(
      names = "--agent-tokens",
      description =
          "YAML file of agent identities (token digests and the clusters each may speak for).")
  Path agentTokens;

  @Override
  public Integer call() throws Exception {
    ControllerConfig config;
    try {
      config = config();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (config.agentTokens().isOpen()) {
      LoggerFactory.getLogger(ControllerMain.class)
          .warn("--insecure-any-agent: any client may speak for any cluster (experiments only)");
    }
    GlobalController controller = GlobalController.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  controller.close();
                  stopped.countDown();
                },
                "controller-shutdown"));
    stopped.await();
    return 0;
  }

  private ControllerConfig config() throws java.io.IOException {
    Map<String, List<String>> failover = new LinkedHashMap<>();
    for (String entry : regionFailover) {
      Map.Entry<String, List<String>> parsed = FailoverOrder.parseEntry(entry);
      if (failover.put(parsed.getKey(), parsed.getValue()) != null) {
        throw new IllegalArgumentException(
            "--region-failover: " + parsed.getKey() + " given twice (expected: once per region)");
      }
    }
    if (agentTokens == null && !insecureAnyAgent) {
      throw new IllegalArgumentException(
          "--agent-tokens: missing (expected: a YAML file of agent token digests and their"
              + " clusters; --insecure-any-agent lets anyone speak for any cluster instead)");
    }
    if (agentTokens != null && insecureAnyAgent) {
      throw new IllegalArgumentException(
          "--insecure-any-agent: given with --agent-tokens (expected: one of the two)");
    }
    if (tlsDir == null && insecureXdsAddress == null) {
      throw new IllegalArgumentException(
          "--tls-dir: missing (expected: a directory with cert-chain.pem, key.pem and"
              + " root-cert.pem; for a plaintext experiment give --insecure-xds-address instead)");
    }
    InetSocketAddress insecure =
        insecureXdsAddress == null
            ? null
            : HostPort.parse("--insecure-xds-address", insecureXdsAddress);
    // Without TLS material the plaintext address is the only listener.
    InetSocketAddress main =
        tlsDir == null ? insecure : HostPort.parse("--xds-address", xdsAddress);
    ControllerConfig.Builder builder =
        ControllerConfig.builder(etcd, main, HostPort.parse("--admin-address", adminAddress))
            .sessionTtl(DurationParser.parse("--session-ttl", sessionTtl))
            .liveness(
                DurationParser.parse("--liveness-grace", livenessGrace),
                DurationParser.parse("--liveness-expiry", livenessExpiry))
            .failover(new FailoverOrder(failover));
    if (replicaId != null) {
      builder.replicaId(replicaId);
    }
    try {
      builder.virtualAddresses(
          new ControllerConfig.VirtualAddressSettings(
              dev.fedmesh.controller.store.VirtualAddresses.Range.parse(virtualAddressRange),
              DurationParser.parse("--virtual-address-release-grace", virtualAddressReleaseGrace)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          e.getMessage().startsWith("--")
              ? e.getMessage()
              : "--virtual-address-range: " + e.getMessage(),
          e);
    }
    if (agentTokens != null) {
      builder.agentTokens(AgentTokens.load(agentTokens));
    }
    builder.groupLimits(
        new dev.fedmesh.controller.xds.XdsPublisher.GroupLimits(
            maxGroupsPerCluster,
            dev.fedmesh.controller.xds.XdsPublisher.GroupLimits.DEFAULT.idleTtl()));
    if (tlsDir != null) {
      // Read again whenever the files change: a re-issued certificate needs no restart.
      SvidFiles.Source tls = SvidFiles.watch(tlsDir, Clock.systemUTC());
      SpiffeId expected = ControlPlaneTls.controllerId(tls.id().trustDomain());
      if (!tls.id().equals(expected)) {
        throw new IllegalArgumentException(
            "--tls-dir: "
                + tls.id()
                + " (expected: "
                + expected
                + ", the identity agents and proxies accept from a controller)");
      }
      builder.tls(tls).insecureXdsAddress(insecure);
    }
    if (adminTokenFile != null) {
      String token = Files.readString(adminTokenFile).strip();
      if (token.length() < 16) {
        throw new IllegalArgumentException(
            "--admin-token-file: "
                + adminTokenFile
                + " holds "
                + token.length()
                + " characters (expected: a token of at least 16)");
      }
      builder.adminToken(token);
    }
    return builder.build();
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new ControllerMain()).execute(args));
  }

  /** {@code host:port} parsing that names the flag in its error. */
  static final class HostPort {
    private HostPort() {}

    static InetSocketAddress parse(String flag, String value) {
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw new IllegalArgumentException(flag + ": '" + value + "' (expected: host:port)");
      }
      try {
        int port = Integer.parseInt(value.substring(colon + 1));
        return new InetSocketAddress(value.substring(0, colon), port);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            flag + ": '" + value + "' (expected: host:port with port 0..65535)");
      }
    }
  }

  /** Durations as people write them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 24h}. */
  static final class DurationParser {
    private DurationParser() {}

    static Duration parse(String flag, String value) {
      try {
        if (value.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
        }
        long amount = Long.parseLong(value.substring(0, value.length() - 1));
        switch (value.charAt(value.length() - 1)) {
          case 's':
            return Duration.ofSeconds(amount);
          case 'm':
            return Duration.ofMinutes(amount);
          case 'h':
            return Duration.ofHours(amount);
          default:
            break;
        }
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        // fall through to the error below
      }
      throw new IllegalArgumentException(
          flag + ": '" + value + "' (expected: a duration such as 500ms, 10s, 2m or 24h)");
    }
  }
}
