package dev.fedmesh.agent;

import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cluster-agent}: joins one cluster to the mesh and runs until terminated. */
@Command(
    name = "cluster-agent",
    mixinStandardHelpOptions = true,
    description = "Streams one cluster's services and endpoints to the fedmesh global controller.")
public final class AgentMain implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--cluster", required = true, description = "This cluster's name.")
  String cluster;

  @Option(names = "--network", description = "This cluster's network (default: the cluster name).")
  String network;

  @Option(names = "--region", defaultValue = "", description = "The cluster's region.")
  String region;

  @Option(names = "--zone", defaultValue = "", description = "The cluster's default zone.")
  String zone;

  @Option(
      names = "--trust-domain",
      defaultValue = "fedmesh.local",
      description = "SPIFFE trust domain (default: ${DEFAULT-VALUE}).")
  String trustDomain;

  @Option(names = "--gateway", description = "An east-west gateway address host:port (repeatable).")
  List<String> gateways = new ArrayList<>();

  @Option(
      names = "--controller",
      split = ",",
      defaultValue = "127.0.0.1:15010",
      description = "Controller replicas, comma-separated host:port (default: ${DEFAULT-VALUE}).")
  List<String> controllers;

  @Option(
      names = "--endpoints-file",
      required = true,
      description = "YAML file of services and endpoints, re-read when it changes.")
  Path endpointsFile;

  @Option(
      names = "--token-file",
      description = "File holding this agent's token for the controller (default: none).")
  Path tokenFile;

  @Override
  public Integer call() throws Exception {
    ClusterInfo info;
    try {
      List<GatewayAddress> gatewayAddresses = new ArrayList<>();
      for (String gateway : gateways) {
        int colon = gateway.lastIndexOf(':');
        if (colon <= 0) {
          throw new IllegalArgumentException(
              "--gateway: '" + gateway + "' (expected: address:port)");
        }
        gatewayAddresses.add(
            new GatewayAddress(
                gateway.substring(0, colon), Integer.parseInt(gateway.substring(colon + 1))));
      }
      info =
          new ClusterInfo(
              ClusterName.of(cluster),
              network == null ? cluster : network,
              Locality.of(region, zone),
              gatewayAddresses,
              trustDomain,
              AgentMain.class.getPackage().getImplementationVersion() == null
                  ? "dev"
                  : AgentMain.class.getPackage().getImplementationVersion());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (!Files.isReadable(endpointsFile)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--endpoints-file: '" + endpointsFile + "' (expected: a readable file)");
    }
    String token = "";
    if (tokenFile != null) {
      if (!Files.isReadable(tokenFile)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--token-file: '" + tokenFile + "' (expected: a readable file)");
      }
      token = Files.readString(tokenFile).strip();
    }
    ClusterAgent agent =
        ClusterAgent.start(
            info,
            controllers,
            token,
            executor ->
                new FileEndpointSource(
                    endpointsFile, info.name(), info.locality(), executor, Duration.ofMillis(200)));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  agent.close();
                  stopped.countDown();
                },
                "agent-shutdown"));
    stopped.await();
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new AgentMain()).execute(args));
  }
}
