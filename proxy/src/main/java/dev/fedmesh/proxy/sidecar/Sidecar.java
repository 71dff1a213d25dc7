package dev.fedmesh.proxy.sidecar;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.NodeMetadata;
import dev.fedmesh.proxy.dns.DnsProxy;
import dev.fedmesh.proxy.http.HttpProxy;
import dev.fedmesh.proxy.http.ProxyStats;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.tls.WorkloadCertificates;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.proxy.xds.XdsClient;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sidecar proxy: its xDS stream, certificate, listeners and admin endpoints. Runs alone ({@link
 * ProxyMain}) or many to a process (the lab), each with its own node identity, certificate,
 * listeners and stream; only the event loops may be shared.
 */
public final class Sidecar implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Sidecar.class);

  private final SidecarBootstrap bootstrap;
  private final ScheduledExecutorService executor;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final HttpProxy proxy;
  private final DnsProxy dns;

  /** Null until started: over TLS, once the first certificate is in. */
  private volatile XdsClient xds;

  private volatile boolean closed;
  private final Optional<WorkloadCertificates> certificates;
  private final ProxyAdmin admin;
  private ProxyAdmin stats;

  private Sidecar(SidecarBootstrap bootstrap, EventLoopGroup group) throws Exception {
    this.bootstrap = bootstrap;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "sidecar-" + bootstrap.node().id());
              thread.setDaemon(true);
              return thread;
            });
    boolean started = false;
    try {
      this.certificates =
          bootstrap
              .ca()
              .map(
                  ca ->
                      WorkloadCertificates.start(
                          ca.address(),
                          ca.token(),
                          () -> bundles(ca.rootsPem().get()),
                          ca.ttl(),
                          executor));
      HttpProxy.Builder builder =
          HttpProxy.builder(group)
              .stats(new ProxyStats())
              .workload(
                  Workload.of(
                      bootstrap.node().labels(),
                      bootstrap.node().namespace(),
                      bootstrap.node().serviceAccount(),
                      bootstrap.node().cluster()))
              .protocolDetectionTimeout(bootstrap.protocolDetectionTimeout());
      certificates.ifPresent(c -> builder.identity(c.identity()));
      bootstrap.outbound().ifPresent(builder::outbound);
      builder.interception(
          bootstrap.interception().mode(), bootstrap.interception().inboundCapture());
      bootstrap.inbound().forEach(builder::inbound);
      this.proxy = builder.start();
      this.dns = DnsProxy.create(group, executor, proxy.stats().registry(), bootstrap.resolvConf());
      for (String controller : bootstrap.controllers()) {
        NettyChannelBuilder channel = NettyChannelBuilder.forTarget(controller);
        if (bootstrap.controllersOverTls()) {
          // The sidecar's own SVID proves to the controller who asks for config; the controller
          // must present the controller identity under the mesh's roots.
          SidecarBootstrap.Ca ca = bootstrap.ca().get();
          channel.sslContext(
              ControlPlaneTls.client(
                  certificates.get()::current,
                  SvidVerifier.of(() -> bundles(ca.rootsPem().get()), Clock.systemUTC()),
                  ControlPlaneTls.anyController()));
        } else {
          channel.usePlaintext();
        }
        channels.add(channel.build());
      }
      if (bootstrap.controllersOverTls()) {
        // A connection opened without a client certificate would stay without one, and the
        // controller refuses its streams: ask for config once the sidecar can prove who it is.
        certificates.get().onFirstCertificate(this::startXds);
      } else {
        startXds();
      }
      this.admin =
          bootstrap.admin().isPresent() ? ProxyAdmin.start(bootstrap.admin().get(), this) : null;
      if (bootstrap.stats().isPresent()) {
        this.stats = ProxyAdmin.startStats(bootstrap.stats().get(), this);
      }
      started = true;
    } finally {
      if (!started) {
        close();
      }
    }
  }

  private synchronized void startXds() {
    if (xds != null || closed) {
      return;
    }
    xds =
        XdsClient.start(
            channels,
            node(bootstrap),
            executor,
            new Backoff(
                Duration.ofMillis(100), Duration.ofSeconds(5), RandomGenerator.getDefault()),
            this::onConfig,
            bootstrap.xdsProtocol());
  }

  /** Starts a sidecar on {@code group}'s event loops. */
  public static Sidecar start(SidecarBootstrap bootstrap, EventLoopGroup group) throws Exception {
    return new Sidecar(requireNonNull(bootstrap, "bootstrap"), requireNonNull(group, "group"));
  }

  private void onConfig(ProxyConfig config) {
    proxy.apply(config);
    dns.apply(config);
    log.debug(
        "{}: config with {} listeners, {} clusters",
        bootstrap.node().id(),
        config.listeners().size(),
        config.clusters().size());
  }

  /** The trust bundles from a PEM of roots: each root's trust domain from its SPIFFE ID. */
  static TrustBundleSet bundles(String pem) {
    return TrustBundleSet.ofRootsPem(pem, "roots");
  }

  /**
   * The xDS node: who the workload is (role, cluster, network, namespace, service account, labels,
   * locality) and its addresses, as Istio names them ({@code INSTANCE_IPS}: the pod addresses the
   * sidecar listens on, from which the controller's traffic view scrapes its stats port).
   */
  static Node node(SidecarBootstrap bootstrap) {
    SidecarBootstrap.NodeIdentity identity = bootstrap.node();
    Struct.Builder metadata =
        Struct.newBuilder()
            .putFields(NodeMetadata.ROLE, string(NodeMetadata.ROLE_SIDECAR))
            .putFields(NodeMetadata.CLUSTER, string(identity.cluster()))
            .putFields(NodeMetadata.NETWORK, string(identity.network()))
            .putFields(NodeMetadata.NAMESPACE, string(identity.namespace()))
            .putFields(NodeMetadata.SERVICE_ACCOUNT, string(identity.serviceAccount()));
    Struct.Builder labels = Struct.newBuilder();
    identity.labels().forEach((k, v) -> labels.putFields(k, string(v)));
    metadata.putFields(NodeMetadata.LABELS, Value.newBuilder().setStructValue(labels).build());
    ListValue.Builder addresses = ListValue.newBuilder();
    instanceAddresses(bootstrap).forEach(address -> addresses.addValues(string(address)));
    metadata.putFields(
        NodeMetadata.INSTANCE_IPS, Value.newBuilder().setListValue(addresses).build());
    if (bootstrap.interception().dnsCapture()) {
      metadata.putFields(NodeMetadata.DNS_CAPTURE, string("true"));
    }
    return Node.newBuilder()
        .setId(identity.id())
        .setCluster(identity.cluster())
        .setMetadata(metadata)
        .setLocality(Locality.newBuilder().setRegion(identity.region()).setZone(identity.zone()))
        .setUserAgentName("fedmesh-sidecar")
        .build();
  }

  /**
   * The specific addresses the sidecar binds (stats, outbound, admin, inbound listeners), in that
   * order without repeats; wildcard addresses say nothing about the pod and are left out.
   */
  static List<String> instanceAddresses(SidecarBootstrap bootstrap) {
    java.util.LinkedHashSet<String> addresses = new java.util.LinkedHashSet<>();
    java.util.stream.Stream.concat(
            java.util.stream.Stream.of(bootstrap.stats(), bootstrap.outbound(), bootstrap.admin())
                .flatMap(Optional::stream),
            bootstrap.inbound().stream().map(dev.fedmesh.proxy.http.InboundPort::listen))
        .map(InetSocketAddress::getAddress)
        .filter(address -> address != null && !address.isAnyLocalAddress())
        .forEach(address -> addresses.add(address.getHostAddress()));
    return List.copyOf(addresses);
  }

  private static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  public SidecarBootstrap bootstrap() {
    return bootstrap;
  }

  public HttpProxy proxy() {
    return proxy;
  }

  /** The DNS listener: serving while the controller's config has one. */
  public DnsProxy dns() {
    return dns;
  }

  public ProxyConfig config() {
    XdsClient client = xds;
    return client == null ? ProxyConfig.EMPTY : client.current();
  }

  /** The hosts this sidecar routes to a cluster with endpoints (see {@link ProxyConfig}). */
  public java.util.Set<String> reachableHosts() {
    return config().reachableHosts();
  }

  public boolean xdsConnected() {
    XdsClient client = xds;
    return client != null && client.isConnected();
  }

  public String lastXdsError() {
    XdsClient client = xds;
    return client == null ? "" : client.lastError();
  }

  public Optional<WorkloadCertificates> certificates() {
    return certificates;
  }

  /** Why the sidecar is not ready, or empty when it is (config received, certificate held). */
  public Optional<String> notReadyReason() {
    ProxyConfig current = config();
    if (current.listeners().isEmpty() && current.clusters().isEmpty()) {
      return Optional.of("no config from the controller yet");
    }
    if (certificates.isPresent() && certificates.get().current().isEmpty()) {
      return Optional.of("no certificate from the CA yet");
    }
    return Optional.empty();
  }

  public boolean isReady() {
    return notReadyReason().isEmpty();
  }

  public Optional<InetSocketAddress> adminAddress() {
    return Optional.ofNullable(admin).map(ProxyAdmin::address);
  }

  /** Where the stats-only listener is bound, if it runs. */
  public Optional<InetSocketAddress> statsAddress() {
    return Optional.ofNullable(stats).map(ProxyAdmin::address);
  }

  @Override
  public void close() {
    if (stats != null) {
      stats.close();
    }
    if (admin != null) {
      admin.close();
    }
    XdsClient client;
    synchronized (this) {
      closed = true;
      client = xds;
    }
    if (client != null) {
      client.close();
    }
    if (dns != null) {
      dns.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    certificates.ifPresent(
        c -> {
          try {
            c.close();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
