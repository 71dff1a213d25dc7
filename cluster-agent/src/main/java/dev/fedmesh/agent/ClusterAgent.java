package dev.fedmesh.agent;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.agent.federation.FederationClient;
import dev.fedmesh.agent.kubernetes.ServiceImports;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.agent.status.AgentMetrics;
import dev.fedmesh.agent.status.AgentStatus;
import dev.fedmesh.agent.status.StatusServer;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.DaemonThreads;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A cluster's agent: watches an {@link EndpointSource} and streams what it sees to the global
 * controller, and optionally serves its health, status and metrics, and keeps the cluster's MCS
 * ServiceImports as the controller says (Kubernetes only). Embeddable (tests, the lab) and run
 * standalone by {@link AgentMain}.
 */
public final class ClusterAgent implements AutoCloseable {
  private final ClusterInfo cluster;
  private final ScheduledExecutorService executor;
  private final List<ManagedChannel> channels;
  private final EndpointSource source;
  private final FederationClient client;
  private final ScheduledExecutorService importsExecutor;
  private final ServiceImports imports;
  private final AgentMetrics metrics;
  private StatusServer statusServer;
  private volatile Map<ServiceKey, ServiceEndpoints> announced = Map.of();

  private ClusterAgent(Builder builder) {
    cluster = builder.cluster;
    metrics = builder.metrics;
    executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-" + cluster.name());
              thread.setDaemon(true);
              return thread;
            });
    channels =
        builder.controllers.stream()
            .map(
                target -> {
                  NettyChannelBuilder channel = NettyChannelBuilder.forTarget(target);
                  if (builder.controllerRoots == null) {
                    channel.usePlaintext();
                  } else {
                    TrustBundleSet roots = builder.controllerRoots;
                    channel.sslContext(
                        ControlPlaneTls.client(
                            SvidVerifier.of(roots, Clock.systemUTC()),
                            ControlPlaneTls.anyController()));
                  }
                  return channel
                      .intercept(bearer(builder.token))
                      .keepAliveTime(10, TimeUnit.SECONDS)
                      .keepAliveTimeout(5, TimeUnit.SECONDS)
                      .build();
                })
            .toList();
    source = builder.sourceFactory.apply(executor);
    if (builder.importsClient != null) {
      // Writes to the API server get a thread of their own: a slow one never stalls the stream.
      importsExecutor =
          Executors.newSingleThreadScheduledExecutor(
              DaemonThreads.named("agent-" + cluster.name() + "-imports"));
      imports =
          new ServiceImports(
              builder.importsClient,
              cluster.name(),
              importsExecutor,
              System::nanoTime,
              new SecureRandom(),
              builder.importsSettings);
    } else {
      importsExecutor = null;
      imports = null;
    }
    client =
        new FederationClient(
            channels,
            cluster,
            executor,
            new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), new SecureRandom()),
            Duration.ofSeconds(5),
            imports == null ? set -> {} : imports);
    metrics.gauge(
        "fedmesh_agent_controller_connected",
        "1 while a controller replica has welcomed the agent's stream",
        () -> client.isConnected() ? 1 : 0);
    metrics.gauge(
        "fedmesh_agent_in_sync",
        "1 while the controller has stored everything the agent sent",
        () -> client.isInSync() ? 1 : 0);
    metrics.gauge("fedmesh_agent_services", "Services the agent announces", () -> announced.size());
    metrics.gauge(
        "fedmesh_agent_endpoints",
        "Endpoints of the services the agent announces",
        this::endpoints);
    if (imports != null) {
      metrics.gauge(
          "fedmesh_agent_imported_services",
          "Services the controller says the cluster imports (one ServiceImport each)",
          imports::imported);
    }
    metrics.gauge(
        "fedmesh_agent_findings",
        "Problems found in the cluster's configuration (see /status)",
        () -> findings().size());
  }

  /** Starts describing an agent for {@code cluster} reporting to the given controller replicas. */
  public static Builder builder(ClusterInfo cluster, List<String> controllers) {
    return new Builder(cluster, controllers);
  }

  /**
   * Starts an agent for {@code cluster} that reports to one of the controller replicas at {@code
   * controllers} (gRPC targets such as {@code 127.0.0.1:15010}).
   *
   * @param sourceFactory makes the endpoint source, given the agent's executor
   */
  public static ClusterAgent start(
      ClusterInfo cluster,
      List<String> controllers,
      Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
    return builder(cluster, controllers).source(sourceFactory).start();
  }

  /**
   * Like {@link #start(ClusterInfo, List, Function)}, authenticating to the controllers with {@code
   * token} (sent as {@code authorization: Bearer <token>}; empty sends none).
   */
  public static ClusterAgent start(
      ClusterInfo cluster,
      List<String> controllers,
      String token,
      Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
    return builder(cluster, controllers).token(token).source(sourceFactory).start();
  }

  private static io.grpc.ClientInterceptor bearer(String token) {
    Metadata headers = new Metadata();
    if (!token.isEmpty()) {
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    }
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  private void run(InetSocketAddress statusAddress) {
    source.start(
        services -> {
          announced = Map.copyOf(services);
          metrics.sourceUpdates.inc();
          client.update(services);
        });
    if (statusAddress != null) {
      statusServer = StatusServer.start(statusAddress, this::status, metrics);
    }
  }

  public FederationClient federation() {
    return client;
  }

  public EndpointSource source() {
    return source;
  }

  /** The cluster's ServiceImports, when the agent keeps them (Kubernetes only). */
  public Optional<ServiceImports> serviceImports() {
    return Optional.ofNullable(imports);
  }

  public AgentMetrics metrics() {
    return metrics;
  }

  /** Where the status server listens, when the agent runs one. */
  public Optional<InetSocketAddress> statusAddress() {
    return Optional.ofNullable(statusServer).map(StatusServer::address);
  }

  /** The agent's state now, as {@code /status} shows it. */
  public AgentStatus status() {
    return new AgentStatus(
        cluster.name().value(),
        client.isConnected(),
        client.isInSync(),
        client.controllerReplica(),
        announced.size(),
        endpoints(),
        findings());
  }

  /**
   * What the source found wrong in the cluster, what the controller refused of it, and what kept
   * imported services from their ServiceImports.
   */
  private List<Finding> findings() {
    List<Finding> all = new java.util.ArrayList<>(source.findings());
    for (String reason : client.refusals()) {
      all.add(new Finding(Finding.REFUSED_BY_CONTROLLER, "", "", 0, reason));
    }
    if (imports != null) {
      all.addAll(imports.findings());
    }
    return all;
  }

  private int endpoints() {
    return announced.values().stream().mapToInt(service -> service.endpoints().size()).sum();
  }

  @Override
  public void close() {
    if (statusServer != null) {
      statusServer.close();
    }
    source.close();
    client.close();
    if (imports != null) {
      imports.close();
      importsExecutor.shutdown();
    }
    channels.forEach(ManagedChannel::shutdown);
    try {
      for (ManagedChannel channel : channels) {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channels.forEach(ManagedChannel::shutdownNow);
    executor.shutdown();
  }

  /** Describes an agent; {@link #start()} runs it. */
  public static final class Builder {
    private final ClusterInfo cluster;
    private final List<String> controllers;
    private String token = "";
    private TrustBundleSet controllerRoots;
    private Function<ScheduledExecutorService, EndpointSource> sourceFactory;
    private InetSocketAddress statusAddress;
    private AgentMetrics metrics = new AgentMetrics();
    private KubernetesClient importsClient;
    private ServiceImports.Settings importsSettings = ServiceImports.Settings.defaults();

    private Builder(ClusterInfo cluster, List<String> controllers) {
      this.cluster = requireNonNull(cluster, "cluster");
      this.controllers = List.copyOf(controllers);
      if (controllers.isEmpty()) {
        throw new IllegalArgumentException("controllers: none (expected: at least one address)");
      }
    }

    /** The token sent as {@code authorization: Bearer <token>}; empty (the default) sends none. */
    public Builder token(String token) {
      this.token = requireNonNull(token, "token");
      return this;
    }

    /**
     * Dials the controllers over TLS, accepting only the controller identity under {@code roots}
     * (so the agent's token goes to no one else); without it, plaintext.
     */
    public Builder controllerRoots(TrustBundleSet roots) {
      this.controllerRoots = requireNonNull(roots, "roots");
      return this;
    }

    /** Makes the endpoint source, given the agent's executor. Required. */
    public Builder source(Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
      this.sourceFactory = requireNonNull(sourceFactory, "sourceFactory");
      return this;
    }

    /**
     * Keeps the cluster's MCS ServiceImports as the controller says the cluster imports ({@link
     * ServiceImports}), through {@code client}, which the agent does not close. Only for a source
     * that is a Kubernetes cluster: without an API server there is nothing to import into.
     */
    public Builder serviceImports(KubernetesClient client) {
      return serviceImports(client, ServiceImports.Settings.defaults());
    }

    /** Like {@link #serviceImports(KubernetesClient)}, with other timings (tests, the lab). */
    public Builder serviceImports(KubernetesClient client, ServiceImports.Settings settings) {
      this.importsClient = requireNonNull(client, "client");
      this.importsSettings = requireNonNull(settings, "settings");
      return this;
    }

    /** Serves {@code /healthz}, {@code /ready}, {@code /status} and {@code /metrics} here. */
    public Builder statusAddress(InetSocketAddress statusAddress) {
      this.statusAddress = requireNonNull(statusAddress, "statusAddress");
      return this;
    }

    /**
     * The registry the agent's metrics go to, which the injection webhook may share; one agent per
     * registry, since each registers its gauges once.
     */
    public Builder metrics(AgentMetrics metrics) {
      this.metrics = requireNonNull(metrics, "metrics");
      return this;
    }

    /** Starts the agent: its source, its stream to the controller, its status server. */
    public ClusterAgent start() {
      if (sourceFactory == null) {
        throw new IllegalStateException("source: none (expected: an endpoint source factory)");
      }
      ClusterAgent agent = new ClusterAgent(this);
      try {
        agent.run(statusAddress);
      } catch (RuntimeException e) {
        agent.close();
        throw e;
      }
      return agent;
    }
  }
}
