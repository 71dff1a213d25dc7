package dev.fedmesh.gateway;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster's east-west gateway: the one door through which other networks reach the cluster's
 * exported services. It reads each connection's TLS ClientHello without terminating TLS, finds the
 * server name ({@code outbound_.<port>_.<subset>_.<fqdn>}) among the filter chains of its active
 * config, and passes the still-encrypted stream, hello first, to a local endpoint of that service;
 * mutual TLS stays end to end between the two workloads. Anything else (no or an unknown server
 * name, plaintext, a hello too slow or too large) is closed without forwarding a byte, and counted.
 *
 * <pre>{@code
 * EastWestGateway gateway =
 *     EastWestGateway.builder(XdsConfigSource.connect(List.of("127.0.0.1:15010"),
 *             XdsConfigSource.gatewayNode("gw-east", "east", "net-east", "us-east", "us-east-1a")))
 *         .listen(new InetSocketAddress("127.1.0.1", 15443))
 *         .admin(new InetSocketAddress("127.1.0.1", 15000))
 *         .start();
 * ...
 * gateway.close(); // drains
 * }</pre>
 */
public final class EastWestGateway implements AutoCloseable {
  /** Istio's port for cross-network traffic. */
  public static final int DEFAULT_PORT = 15443;

  static final String READY = "ready";

  private static final Logger log = LoggerFactory.getLogger(EastWestGateway.class);

  private final Builder settings;
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final ClusterManager clusters = new ClusterManager();
  private final EventLoopGroup acceptors;
  private final EventLoopGroup workers;
  private final ChannelGroup open =
      new DefaultChannelGroup("gateway", GlobalEventExecutor.INSTANCE);
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private Channel server;
  private GatewayAdmin admin;

  private volatile ProxyConfig config = ProxyConfig.EMPTY;
  private volatile SniRoutes routes = SniRoutes.EMPTY;
  private volatile boolean configured;
  private volatile boolean draining;
  private List<String> ignoredChains = List.of();

  private EastWestGateway(Builder settings) {
    this.settings = settings;
    this.acceptors =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("gateway-accept", true), NioIoHandler.newFactory());
    this.workers =
        new MultiThreadIoEventLoopGroup(
            settings.workerThreads,
            new DefaultThreadFactory("gateway-io", true),
            NioIoHandler.newFactory());
  }

  /** A gateway configured by {@code source}; nothing runs until {@link Builder#start()}. */
  public static Builder builder(GatewayConfigSource source) {
    return new Builder(requireNonNull(source, "source"));
  }

  private void start() {
    try {
      if (settings.adminAddress != null) {
        admin = new GatewayAdmin(settings.adminAddress, this);
        admin.start();
      }
      RefusalLog refusals = new RefusalLog(settings.refusalLogInterval, System::nanoTime);
      Passthrough passthrough = new Passthrough(clusters, metrics, refusals);
      ChannelFuture bind =
          new ServerBootstrap()
              .group(acceptors, workers)
              .channel(NioServerSocketChannel.class)
              .option(ChannelOption.SO_BACKLOG, 1024)
              .childOption(ChannelOption.AUTO_READ, false)
              .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                      open.add(channel);
                      channel
                          .pipeline()
                          .addLast(
                              new SniInspector(
                                  settings.maxClientHelloBytes,
                                  settings.helloTimeout,
                                  () -> routes,
                                  passthrough));
                    }
                  })
              .bind(settings.listen)
              .awaitUninterruptibly();
      if (!bind.isSuccess()) {
        throw new UncheckedIOException(
            "cannot listen on " + settings.listen,
            bind.cause() instanceof IOException io ? io : new IOException(bind.cause()));
      }
      server = bind.channel();
      settings.source.start(this::apply);
      log.info("east-west gateway listening on {}", address());
    } catch (IOException e) {
      stopNow();
      throw new UncheckedIOException(
          "cannot serve the admin endpoints on " + settings.adminAddress, e);
    } catch (RuntimeException e) {
      stopNow();
      throw e;
    }
  }

  /** Takes in a new config: the endpoints first, so that no route names a cluster not yet known. */
  private synchronized void apply(ProxyConfig next) {
    clusters.apply(next);
    SniRoutes nextRoutes = SniRoutes.of(next);
    routes = nextRoutes;
    config = next;
    if (!next.listeners().isEmpty() && !configured) {
      configured = true;
      metrics.configActive.set(1);
    }
    if (!nextRoutes.ignored().equals(ignoredChains)) {
      ignoredChains = nextRoutes.ignored();
      ignoredChains.forEach(chain -> log.warn("routing nothing for {}", chain));
    }
    log.info(
        "config active: {} server names routed, {} clusters",
        nextRoutes.serverNames().size(),
        next.clusters().size());
  }

  /** The address the gateway accepts connections on (the real port when bound to port 0). */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** The admin server's address, when one was asked for. */
  public Optional<InetSocketAddress> adminAddress() {
    return admin == null ? Optional.empty() : Optional.of(admin.address());
  }

  /** Whether a config with a listener is active and the gateway is not draining. */
  public boolean isReady() {
    return readiness().equals(READY);
  }

  String readiness() {
    if (draining) {
      return "draining";
    }
    return configured ? READY : "waiting for the first config";
  }

  /** The config in use now. */
  public ProxyConfig activeConfig() {
    return config;
  }

  /** The server names the active config routes. */
  public List<String> routedServerNames() {
    return routes.serverNames();
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** Client connections open now, including those still sending their ClientHello. */
  public int openConnections() {
    return open.size();
  }

  /**
   * Stops accepting connections, lets open ones finish for up to {@code deadline}, then closes what
   * is left and stops everything. {@code /ready} answers 503 from the start. Completes once
   * everything has stopped; calling it again returns the same future.
   */
  public CompletableFuture<Void> drain(Duration deadline) {
    synchronized (this) {
      if (draining) {
        return terminated;
      }
      draining = true;
    }
    if (server != null) {
      server.close().awaitUninterruptibly();
    }
    Thread drainer =
        new Thread(
            () -> {
              try {
                if (!open.newCloseFuture().awaitUninterruptibly(deadline.toMillis())) {
                  log.info(
                      "closing {} connection(s) still open after the {} ms drain",
                      open.size(),
                      deadline.toMillis());
                  open.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
                }
              } finally {
                stopNow();
                terminated.complete(null);
              }
            },
            "gateway-drain");
    drainer.setDaemon(true);
    drainer.start();
    return terminated;
  }

  private void stopNow() {
    draining = true;
    settings.source.close();
    if (server != null) {
      server.close().awaitUninterruptibly();
    }
    open.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    acceptors.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    if (admin != null) {
      admin.stop();
    }
  }

  /** Drains for the builder's drain timeout, then stops. */
  @Override
  public void close() {
    drain(settings.drainTimeout).join();
  }

  /** How the gateway runs. Every setting has a default but the config source. */
  public static final class Builder {
    private final GatewayConfigSource source;
    private InetSocketAddress listen = new InetSocketAddress("0.0.0.0", DEFAULT_PORT);
    private InetSocketAddress adminAddress;
    private Duration helloTimeout = Duration.ofSeconds(10);
    private int maxClientHelloBytes = 64 * 1024;
    private Duration drainTimeout = Duration.ofSeconds(20);
    private Duration refusalLogInterval = Duration.ofSeconds(10);
    private int workerThreads = Math.max(1, Runtime.getRuntime().availableProcessors());

    private Builder(GatewayConfigSource source) {
      this.source = source;
    }

    /** A snapshot, so that changing this builder later never touches a running gateway. */
    private Builder copy() {
      Builder copy = new Builder(source);
      copy.listen = listen;
      copy.adminAddress = adminAddress;
      copy.helloTimeout = helloTimeout;
      copy.maxClientHelloBytes = maxClientHelloBytes;
      copy.drainTimeout = drainTimeout;
      copy.refusalLogInterval = refusalLogInterval;
      copy.workerThreads = workerThreads;
      return copy;
    }

    /** Where to accept connections (default {@code 0.0.0.0:15443}; port 0 picks a free one). */
    public Builder listen(InetSocketAddress address) {
      this.listen = requireNonNull(address, "address");
      return this;
    }

    /** Serve {@code /ready}, {@code /metrics} and {@code /config_dump} here (default: not). */
    public Builder admin(InetSocketAddress address) {
      this.adminAddress = requireNonNull(address, "address");
      return this;
    }

    /** How long a client may take to send its ClientHello (default 10 s). */
    public Builder helloTimeout(Duration timeout) {
      this.helloTimeout = positive(timeout, "helloTimeout");
      return this;
    }

    /** The largest ClientHello buffered (default 64 KiB, as Envoy's TLS inspector). */
    public Builder maxClientHelloBytes(int bytes) {
      if (bytes < 512) {
        throw new IllegalArgumentException("maxClientHelloBytes: " + bytes + " (expected: >= 512)");
      }
      this.maxClientHelloBytes = bytes;
      return this;
    }

    /** How long {@link #close()} lets open connections finish (default 20 s). */
    public Builder drainTimeout(Duration timeout) {
      this.drainTimeout = requireNonNull(timeout, "timeout");
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("drainTimeout: " + timeout + " (expected: >= 0)");
      }
      return this;
    }

    /** At most one log line per refusal reason per interval (default 10 s). */
    public Builder refusalLogInterval(Duration interval) {
      this.refusalLogInterval = positive(interval, "refusalLogInterval");
      return this;
    }

    /** Event loop threads for connections (default: one per core). */
    public Builder workerThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("workerThreads: " + threads + " (expected: >= 1)");
      }
      this.workerThreads = threads;
      return this;
    }

    private static Duration positive(Duration duration, String name) {
      requireNonNull(duration, name);
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(name + ": " + duration + " (expected: > 0)");
      }
      return duration;
    }

    /**
     * Binds, starts the admin server if asked, and starts taking config from the source.
     *
     * @throws UncheckedIOException when an address cannot be bound
     */
    public EastWestGateway start() {
      EastWestGateway gateway = new EastWestGateway(copy());
      gateway.start();
      return gateway;
    }
  }
}
