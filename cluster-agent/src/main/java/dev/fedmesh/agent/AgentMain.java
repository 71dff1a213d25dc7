package dev.fedmesh.agent;

import dev.fedmesh.agent.ca.ClusterCaServer;
import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import dev.fedmesh.agent.injection.InjectionSettings;
import dev.fedmesh.agent.injection.NamespaceLabels;
import dev.fedmesh.agent.injection.SidecarInjector;
import dev.fedmesh.agent.injection.WebhookCertificate;
import dev.fedmesh.agent.injection.WebhookRegistration;
import dev.fedmesh.agent.injection.WebhookServer;
import dev.fedmesh.agent.kubernetes.KubernetesEndpointSource;
import dev.fedmesh.agent.kubernetes.KubernetesEvents;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.agent.status.AgentMetrics;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.TrustBundleSet;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cluster-agent}: joins one cluster to the mesh and runs until terminated. The cluster's
 * services come from Kubernetes (a kubeconfig, or the pod's own service account when run inside the
 * cluster) or from an endpoints file, never both.
 */
@Command(
    name = "cluster-agent",
    mixinStandardHelpOptions = true,
    description = "Streams one cluster's services and endpoints to the fedmesh global controller.")
public final class AgentMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

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

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  Source source = new Source();

  /**
   * Where the services come from; without either option, Kubernetes found by auto-configuration.
   */
  static final class Source {
    @Option(
        names = "--endpoints-file",
        description = "YAML file of services and endpoints, re-read when it changes.")
    Path endpointsFile;

    @Option(
        names = "--kubeconfig",
        description =
            "Kubeconfig of the cluster to watch (default: the pod's service account inside a"
                + " cluster, else $KUBECONFIG or ~/.kube/config).")
    Path kubeconfig;
  }

  @Option(
      names = "--token-file",
      description = "File holding this agent's token for the controller (default: none).")
  Path tokenFile;

  @Option(
      names = "--status-address",
      description =
          "Serve /healthz, /ready, /status and /metrics on host:port (default: not served).")
  String statusAddress;

  @Option(
      names = "--webhook-address",
      description =
          "Serve the sidecar injection webhook (HTTPS, /inject) on host:port; Kubernetes only"
              + " (default: not served).")
  String webhookAddress;

  @Option(
      names = "--webhook-cert",
      description = "PEM certificate chain of the webhook (default: generated at startup).")
  Path webhookCert;

  @Option(names = "--webhook-key", description = "PEM private key of --webhook-cert.")
  Path webhookKey;

  @Option(
      names = "--webhook-dns-name",
      description =
          "A name the generated webhook certificate is valid for (repeatable; default:"
              + " fedmesh-agent.fedmesh-system.svc).")
  List<String> webhookDnsNames = new ArrayList<>();

  @Option(
      names = "--webhook-configuration",
      description =
          "MutatingWebhookConfiguration whose caBundle is set to the generated certificate's CA.")
  String webhookConfiguration;

  @Option(
      names = "--proxy-image",
      defaultValue = "ghcr.io/fedmesh/proxy:0.1.0",
      description = "Image of the injected sidecar (default: ${DEFAULT-VALUE}).")
  String proxyImage;

  @Option(
      names = "--proxy-init-image",
      defaultValue = "ghcr.io/fedmesh/proxy-init:0.1.0",
      description = "Image of the injected iptables init container (default: ${DEFAULT-VALUE}).")
  String proxyInitImage;

  @Option(
      names = "--dns-capture",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Injected pods send their DNS queries (port 53) to their sidecar; a pod's"
              + " fedmesh.dev/dnsCapture annotation decides for itself (default: ${DEFAULT-VALUE}).")
  boolean dnsCapture;

  @Option(
      names = "--sidecar-controller",
      description = "Controller address injected sidecars use (default: the first --controller).")
  String sidecarController;

  @Option(
      names = "--controller-roots",
      description =
          "PEM roots the controllers' certificates chain to: the agent dials them over TLS and"
              + " accepts only the controller identity (default: <--ca-dir>/root-cert.pem).")
  Path controllerRoots;

  @Option(
      names = "--insecure-controller",
      description = "Dial the controllers in plaintext (their --insecure-xds-address); tests only.")
  boolean insecureController;

  @Option(
      names = "--ca-address",
      defaultValue = "fedmesh-agent.fedmesh-system.svc:15012",
      description = "Cluster CA address injected sidecars use (default: ${DEFAULT-VALUE}).")
  String caAddress;

  @Option(
      names = "--ca-dir",
      description =
          "Serve this cluster's CA from its installed directory (fedmesh ca onboard); Kubernetes"
              + " only: callers are authenticated by TokenReview.")
  Path caDir;

  @Option(
      names = "--ca-listen",
      defaultValue = "0.0.0.0:15012",
      description =
          "Where the cluster CA listens when --ca-dir is given (default: ${DEFAULT-VALUE}).")
  String caListen;

  /** Closed in reverse order of creation at shutdown. */
  private final Deque<AutoCloseable> running = new ArrayDeque<>();

  @Override
  public Integer call() throws Exception {
    ClusterInfo named = clusterInfo();
    String token = token();
    boolean kubernetes = source.endpointsFile == null;
    checkOptions(kubernetes);
    ClusterInfo info = withCaKeyId(named);
    AgentMetrics metrics = new AgentMetrics();
    try {
      KubernetesClient kube = null;
      Function<ScheduledExecutorService, EndpointSource> sources;
      if (kubernetes) {
        kube = kubernetesClient();
        sources = kubernetesSource(kube, info);
      } else {
        sources =
            executor ->
                new FileEndpointSource(
                    source.endpointsFile,
                    info.name(),
                    info.locality(),
                    executor,
                    Duration.ofMillis(200));
      }
      ClusterAgent.Builder agent =
          ClusterAgent.builder(info, controllers).token(token).source(sources).metrics(metrics);
      if (kube != null) {
        agent.serviceImports(kube);
      }
      controllerRoots().ifPresent(agent::controllerRoots);
      if (statusAddress != null) {
        agent.statusAddress(address("--status-address", statusAddress));
      }
      running.push(agent.start());
      if (webhookAddress != null) {
        startWebhook(kube, info, metrics);
      }
      if (caDir != null) {
        running.push(
            ClusterCaServer.start(
                caDir,
                address("--ca-listen", caListen),
                new TokenReviewAuthenticator(kube, TokenReviewAuthenticator.AUDIENCE)));
        log.info("serving the cluster CA from {} on {}", caDir, caListen);
      }
    } catch (RuntimeException e) {
      stop();
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop();
                  stopped.countDown();
                },
                "agent-shutdown"));
    stopped.await();
    return 0;
  }

  /**
   * Proxies of this cluster hold certificates of the CA in {@code --ca-dir}: the controller checks
   * by its key identifier that they claim this cluster.
   */
  private ClusterInfo withCaKeyId(ClusterInfo info) {
    if (caDir == null || !Files.isDirectory(caDir)) {
      return info;
    }
    return info.withCaKeyId(
        dev.fedmesh.trust.KeyIdentifiers.subject(
                dev.fedmesh.trust.CaFiles.readClusterCa(
                        caDir, java.util.Optional.empty(), java.time.Clock.systemUTC())
                    .certificate())
            .orElse(""));
  }

  private ClusterInfo clusterInfo() {
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
      return new ClusterInfo(
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
  }

  /** The roots to check the controllers against; empty for plaintext (--insecure-controller). */
  private java.util.Optional<TrustBundleSet> controllerRoots() throws java.io.IOException {
    if (insecureController) {
      if (controllerRoots != null) {
        throw parameter("--insecure-controller: given with --controller-roots (expected: one)");
      }
      log.warn("--insecure-controller: the agent's token travels in plaintext (tests only)");
      return java.util.Optional.empty();
    }
    Path roots =
        controllerRoots != null
            ? controllerRoots
            : caDir != null ? caDir.resolve(SvidFiles.ROOTS) : null;
    if (roots == null) {
      throw parameter(
          "--controller-roots: missing (expected: the PEM roots of the mesh, to dial the"
              + " controllers over TLS; --insecure-controller for plaintext tests)");
    }
    if (!Files.isReadable(roots)) {
      throw parameter("--controller-roots: '" + roots + "' (expected: a readable PEM file)");
    }
    try {
      return java.util.Optional.of(
          TrustBundleSet.ofRootsPem(Files.readString(roots), roots.toString()));
    } catch (IllegalArgumentException e) {
      throw parameter("--controller-roots: " + e.getMessage());
    }
  }

  private String token() throws java.io.IOException {
    if (tokenFile == null) {
      return "";
    }
    if (!Files.isReadable(tokenFile)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--token-file: '" + tokenFile + "' (expected: a readable file)");
    }
    return Files.readString(tokenFile).strip();
  }

  private void checkOptions(boolean kubernetes) {
    if (!kubernetes && !Files.isReadable(source.endpointsFile)) {
      throw parameter(
          "--endpoints-file: '" + source.endpointsFile + "' (expected: a readable file)");
    }
    if (source.kubeconfig != null && !Files.isReadable(source.kubeconfig)) {
      throw parameter("--kubeconfig: '" + source.kubeconfig + "' (expected: a readable file)");
    }
    if (webhookAddress != null && !kubernetes) {
      throw parameter(
          "--webhook-address: given with --endpoints-file (expected: injection only when watching"
              + " Kubernetes)");
    }
    if (caDir != null && !kubernetes) {
      throw parameter(
          "--ca-dir: given with --endpoints-file (expected: the CA only when watching Kubernetes,"
              + " which authenticates its callers)");
    }
    if (caDir != null && !Files.isDirectory(caDir)) {
      throw parameter(
          "--ca-dir: '" + caDir + "' (expected: a directory made by fedmesh ca onboard)");
    }
    if ((webhookCert == null) != (webhookKey == null)) {
      throw parameter(
          "--webhook-cert/--webhook-key: only one given (expected: both, or neither to generate"
              + " a certificate)");
    }
  }

  private KubernetesClient kubernetesClient() throws java.io.IOException {
    Config config =
        source.kubeconfig == null
            ? Config.autoConfigure(null)
            : Config.fromKubeconfig(Files.readString(source.kubeconfig));
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    running.push(client);
    log.info("watching Kubernetes at {}", config.getMasterUrl());
    return client;
  }

  private Function<ScheduledExecutorService, EndpointSource> kubernetesSource(
      KubernetesClient kube, ClusterInfo info) {
    KubernetesEvents events = new KubernetesEvents(kube, info.name().value(), Clock.systemUTC());
    running.push(events);
    return executor ->
        new KubernetesEndpointSource(
            kube,
            info.name(),
            info.locality(),
            executor,
            System::nanoTime,
            KubernetesEndpointSource.Settings.defaults(),
            events);
  }

  private void startWebhook(KubernetesClient kube, ClusterInfo info, AgentMetrics metrics) {
    InjectionSettings settings;
    try {
      settings =
          new InjectionSettings(
              proxyImage,
              proxyInitImage,
              info.name().value(),
              info.network(),
              info.trustDomain(),
              sidecarController == null ? controllers.get(0) : sidecarController,
              caAddress,
              InjectionSettings.DEFAULT_PROXY_UID,
              dnsCapture,
              info.locality().region());
    } catch (IllegalArgumentException e) {
      throw parameter(e.getMessage());
    }
    WebhookCertificate certificate;
    if (webhookCert != null) {
      certificate = WebhookCertificate.fromPem(webhookCert, webhookKey);
    } else {
      List<String> names =
          webhookDnsNames.isEmpty() ? List.of("fedmesh-agent.fedmesh-system.svc") : webhookDnsNames;
      certificate = WebhookCertificate.generate(names, Clock.systemUTC(), Duration.ofDays(365));
    }
    if (webhookConfiguration != null) {
      String caBundle =
          certificate
              .caBundle()
              .orElseThrow(
                  () ->
                      parameter(
                          "--webhook-configuration: given with --webhook-cert (expected: only"
                              + " with a generated certificate; set the caBundle of your own)"));
      WebhookRegistration.publishCaBundle(kube, webhookConfiguration, caBundle);
    }
    running.push(
        WebhookServer.start(
            address("--webhook-address", webhookAddress),
            certificate,
            new SidecarInjector(settings, NamespaceLabels.fromApi(kube)),
            metrics));
  }

  private InetSocketAddress address(String option, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try {
      if (colon <= 0) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(
          hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw parameter(option + ": '" + hostPort + "' (expected: host:port)");
    }
  }

  private CommandLine.ParameterException parameter(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }

  private synchronized void stop() {
    while (!running.isEmpty()) {
      try {
        running.pop().close();
      } catch (Exception e) {
        log.warn("stopping: {}", e.toString());
      }
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new AgentMain()).execute(args));
  }
}
