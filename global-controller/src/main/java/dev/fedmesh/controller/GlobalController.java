package dev.fedmesh.controller;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.controller.admin.AdminServer;
import dev.fedmesh.controller.federation.ConnectedAgents;
import dev.fedmesh.controller.federation.FederationService;
import dev.fedmesh.controller.model.MeshModel;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.controller.store.EtcdMeshStore;
import dev.fedmesh.controller.store.MeshWatcher;
import dev.fedmesh.controller.store.PolicyStore;
import dev.fedmesh.controller.store.VirtualAddresses;
import dev.fedmesh.controller.xds.ProxyAuthenticator;
import dev.fedmesh.controller.xds.ServeWhenLoaded;
import dev.fedmesh.controller.xds.XdsPublisher;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidVerifier;
import io.etcd.jetcd.Client;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica of the global controller: federation server, etcd store and watch, mesh model, ADS,
 * admin API. Replicas are active-active: each serves any agent and any proxy, and they agree
 * because each builds its model from the same etcd.
 */
public final class GlobalController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GlobalController.class);

  private final ControllerConfig config;
  private final Client etcd;
  private final ScheduledExecutorService modelExecutor;
  private final ScheduledExecutorService scheduler;
  private final MeshModel model;
  private final MeshWatcher watcher;
  private final XdsPublisher publisher;
  private final ConnectedAgents agents;
  private final Server grpcServer;
  private final Server insecureServer;
  private final AdminServer admin;
  private final PolicyStore policies;
  private final ScheduledExecutorService virtualAddressExecutor;
  private final VirtualAddresses virtualAddresses;
  private final FederationService federationService;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ControllerMetrics metrics;
  private volatile boolean storeReachable = true;

  /** Set once the model has published the startup listing; from then on ADS is served. */
  private volatile boolean meshLoaded;

  private GlobalController(ControllerConfig config) throws IOException {
    this.config = config;
    Clock clock = Clock.systemUTC();
    etcd = Client.builder().endpoints(config.etcdEndpoints().toArray(String[]::new)).build();
    modelExecutor = Executors.newSingleThreadScheduledExecutor(named("mesh-model"));
    scheduler = Executors.newSingleThreadScheduledExecutor(named("controller-scheduler"));
    metrics = new ControllerMetrics();
    publisher = new XdsPublisher(clock, System::nanoTime, metrics, config.groupLimits());
    model =
        new MeshModel(
            modelExecutor,
            clock,
            System::nanoTime,
            new MeshModel.Settings(
                config.debounceQuiet(),
                config.debounceMax(),
                config.livenessGrace(),
                config.livenessExpiry(),
                config.failover()),
            this::publish);
    watcher = new MeshWatcher(etcd, model, scheduler);
    policies = new PolicyStore(etcd);
    virtualAddressExecutor = Executors.newSingleThreadScheduledExecutor(named("virtual-addresses"));
    virtualAddresses =
        new VirtualAddresses(
            etcd,
            config.virtualAddresses().range(),
            config.virtualAddresses().releaseGrace(),
            clock,
            virtualAddressExecutor);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
    agents = new ConnectedAgents(clock);
    EtcdMeshStore store = new EtcdMeshStore(etcd, config.replicaId(), config.sessionTtl());
    federationService = new FederationService(store, config.replicaId(), agents);
    ServerServiceDefinition federation = federationService.authenticated(config.agentTokens());
    ServerServiceDefinition gated =
        ServerInterceptors.intercept(
            publisher.service(),
            new ServeWhenLoaded(
                () -> meshLoaded,
                () ->
                    "startup listing at etcd revision "
                        + watcher.listedRevision()
                        + ", published "
                        + model.publishedRevision()));
    NettyServerBuilder main = NettyServerBuilder.forAddress(config.xdsAddress());
    ServerServiceDefinition ads = gated;
    if (config.tls().isPresent()) {
      SvidFiles.Source tls = config.tls().get();
      main.sslContext(
          ControlPlaneTls.server(
              () -> Optional.of(tls.credential()), SvidVerifier.of(tls::roots, clock)));
      ads = ServerInterceptors.intercept(gated, new ProxyAuthenticator(model::current));
    }
    grpcServer = serve(main, federation, ads);
    // The plaintext listener proves nothing about its clients: no identity checks there.
    insecureServer =
        config
            .insecureXdsAddress()
            .map(address -> serve(NettyServerBuilder.forAddress(address), federation, gated))
            .orElse(null);
    admin = new AdminServer(config.adminAddress(), this);
  }

  private Server serve(
      NettyServerBuilder builder, ServerServiceDefinition federation, ServerServiceDefinition ads) {
    return builder
        .addService(federation)
        .addService(ads)
        .addService(health.getHealthService())
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
  }

  /** Starts a replica; its ports are bound when this returns. */
  public static GlobalController start(ControllerConfig config) {
    requireNonNull(config, "config");
    GlobalController controller;
    try {
      controller = new GlobalController(config);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind admin " + config.adminAddress(), e);
    }
    try {
      controller.watcher.start();
      controller.scheduler.scheduleWithFixedDelay(controller::probeStore, 0, 2, TimeUnit.SECONDS);
      controller.scheduler.scheduleWithFixedDelay(
          controller.publisher::sweepIdleGroups, 30, 30, TimeUnit.SECONDS);
      controller.grpcServer.start();
      if (controller.insecureServer != null) {
        controller.insecureServer.start();
        log.warn(
            "plaintext xDS and federation on {} (--insecure-xds-address): no proxy or agent there"
                + " proves who it is; for local experiments only",
            controller.insecureServer.getListenSockets().get(0));
      }
      controller.admin.start();
    } catch (IOException e) {
      controller.close();
      throw new UncheckedIOException("cannot bind xDS " + config.xdsAddress(), e);
    }
    log.info(
        "controller {} serving xDS and federation on {} ({}), admin on {}, etcd {}",
        config.replicaId(),
        controller.xdsAddress(),
        config.tls().map(tls -> "mutual TLS as " + tls.id()).orElse("plaintext"),
        controller.adminAddress(),
        config.etcdEndpoints());
    return controller;
  }

  public ControllerConfig config() {
    return config;
  }

  public InetSocketAddress xdsAddress() {
    return (InetSocketAddress) grpcServer.getListenSockets().get(0);
  }

  /** The plaintext listener's address, when {@code --insecure-xds-address} asked for one. */
  public Optional<InetSocketAddress> insecureXdsAddress() {
    return Optional.ofNullable(insecureServer)
        .map(server -> (InetSocketAddress) server.getListenSockets().get(0));
  }

  public InetSocketAddress adminAddress() {
    return admin.address();
  }

  /** The policies in etcd, for the admin API's writes. */
  public PolicyStore policies() {
    return policies;
  }

  /** The allocator of the mesh's virtual addresses (its range, hosts it could not serve). */
  public VirtualAddresses virtualAddresses() {
    return virtualAddresses;
  }

  /** The mesh as last published to proxies. */
  public MeshSnapshot mesh() {
    return model.current();
  }

  public XdsPublisher xds() {
    return publisher;
  }

  public ConnectedAgents agents() {
    return agents;
  }

  public ControllerMetrics metrics() {
    return metrics;
  }

  /**
   * Whether proxies are served what etcd holds: the newest listing has been published, the watch
   * since is unbroken, and etcd answered recently. False from start-up until the first listing is
   * published, and again after a relist (on compaction) until that listing is published.
   */
  public boolean storeSynced() {
    long listed = watcher.listedRevision();
    return listed >= 0
        && model.publishedRevision() >= listed
        && watcher.isSynced()
        && storeReachable;
  }

  /** Whether this replica serves ADS: it has published the mesh as listed at start-up. */
  public boolean meshLoaded() {
    return meshLoaded;
  }

  /** Runs on the model's executor for every snapshot the model publishes. */
  private void publish(MeshSnapshot snapshot) {
    publisher.publish(snapshot);
    virtualAddresses.offer(snapshot);
    federationService.meshChanged(snapshot);
    long listed = watcher.listedRevision();
    if (!meshLoaded && listed >= 0 && snapshot.revision() >= listed) {
      meshLoaded = true;
      health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
      log.info(
          "mesh loaded from etcd (revision {}, {} clusters, {} services); serving xDS",
          snapshot.revision(),
          snapshot.clusters().size(),
          snapshot.services().size());
    }
  }

  /**
   * Asks etcd for its current revision: whether it answers is the store's health, and how far the
   * model's watch trails it is the watch lag.
   */
  private void probeStore() {
    etcd.getKVClient()
        .get(
            io.etcd.jetcd.ByteSequence.from(
                "/fedmesh/v1/", java.nio.charset.StandardCharsets.UTF_8),
            io.etcd.jetcd.options.GetOption.builder().withCountOnly(true).isPrefix(true).build())
        .orTimeout(1500, TimeUnit.MILLISECONDS)
        .whenComplete(
            (response, error) -> {
              boolean reachable = error == null;
              if (reachable != storeReachable) {
                log.warn(
                    reachable
                        ? "etcd reachable again"
                        : "etcd unreachable; serving the last model to proxies");
              }
              storeReachable = reachable;
              metrics.storeSynced.set(storeSynced() ? 1 : 0);
              if (reachable) {
                metrics.watchLagRevisions.set(
                    Math.max(0, response.getHeader().getRevision() - watcher.lastRevision()));
              }
            });
  }

  @Override
  public void close() {
    admin.stop();
    grpcServer.shutdownNow();
    if (insecureServer != null) {
      insecureServer.shutdownNow();
    }
    watcher.close();
    virtualAddresses.close();
    virtualAddressExecutor.shutdownNow();
    federationService.close();
    try {
      grpcServer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    etcd.close();
    modelExecutor.shutdownNow();
    scheduler.shutdownNow();
  }

  private static java.util.concurrent.ThreadFactory named(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
