package dev.fedmesh.proxy.http;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.intercept.InterceptStats;
import dev.fedmesh.proxy.intercept.InterceptionMode;
import dev.fedmesh.proxy.intercept.OriginalDestination;
import dev.fedmesh.proxy.intercept.OutboundChains;
import dev.fedmesh.proxy.intercept.VirtualInbound;
import dev.fedmesh.proxy.intercept.VirtualOutbound;
import dev.fedmesh.proxy.net.Transports;
import dev.fedmesh.proxy.telemetry.AccessLogConfig;
import dev.fedmesh.proxy.telemetry.RequestRecord;
import dev.fedmesh.proxy.telemetry.Telemetry;
import dev.fedmesh.proxy.telemetry.Tracing;
import dev.fedmesh.proxy.telemetry.TracingConfig;
import dev.fedmesh.proxy.telemetry.Workload;
import dev.fedmesh.proxy.tls.ProxyIdentity;
import dev.fedmesh.proxy.tls.TlsContexts;
import dev.fedmesh.proxy.upstream.ClusterManager;
import dev.fedmesh.proxy.upstream.UpstreamCluster;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.trust.SpiffeId;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's data plane: the outbound listener (an HTTP proxy applications reach through {@code
 * HTTP_PROXY}, with CONNECT tunnels for anything else), the inbound listeners in front of the
 * application (mutual TLS terminated, the caller's SPIFFE ID passed on in {@code
 * x-forwarded-client-cert}), and the upstream clusters both use. Config arrives through {@link
 * #apply}; connections already open keep working across changes.
 */
public final class HttpProxy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpProxy.class);

  private final EventLoopGroup group;
  private final ClusterManager clusters;
  private final boolean ownsClusters;
  private final OutboundRouting outboundRouting;
  private final HttpListener outboundListener;
  private final HttpUpstreams upstreams;
  private final Optional<TlsContexts> tls;
  private final Optional<ProxyIdentity> identity;
  private final ProxyStats stats;
  private final Telemetry telemetry;
  private final HttpProxyHandler.Limits limits;
  private final java.time.Duration detectionTimeout;
  private final List<Channel> servers = new ArrayList<>();
  private Channel outbound;
  private final List<Channel> inbound = new ArrayList<>();
  private final InterceptionMode interception;
  private final InetSocketAddress inboundCapture;
  private final InterceptStats interceptStats;
  private final Map<Integer, ChannelInitializer<Channel>> capturedPorts = new LinkedHashMap<>();
  private volatile OutboundChains outboundChains = OutboundChains.NONE;

  /** The controller's inbound policy; null until it sends one (then the bootstrap's modes hold). */
  private volatile InboundChains inboundChains;

  /** The access log in force (its config), null for none. */
  private AccessLogConfig accessLogConfig;

  private HttpProxy(Builder builder) {
    this.interception = builder.interception;
    this.inboundCapture = builder.inboundCapture;
    this.group = builder.group;
    this.ownsClusters = builder.clusters == null;
    this.clusters = ownsClusters ? new ClusterManager() : builder.clusters;
    this.identity = builder.identity;
    this.tls = builder.identity.map(TlsContexts::new);
    this.upstreams = new HttpUpstreams(tls);
    this.outboundRouting =
        new OutboundRouting(
            clusters, builder.outbound == null ? 15001 : builder.outbound.getPort(), builder.stats);
    this.stats = builder.stats;
    this.limits = builder.limits;
    this.telemetry =
        new Telemetry(
            stats.registry(),
            builder.workload,
            () ->
                identity
                    .flatMap(i -> i.credential().get())
                    .map(c -> c.svid().id().toString())
                    .orElse("unknown"));
    this.outboundListener =
        new HttpListener(
            outboundRouting,
            upstreams,
            (channel, headers) -> {},
            limits,
            stats,
            telemetry,
            RequestRecord.Reporter.SOURCE);
    this.detectionTimeout = builder.detectionTimeout;
    this.interceptStats = new InterceptStats(stats.registry());
  }

  public static Builder builder(EventLoopGroup group) {
    return new Builder(group);
  }

  /**
   * Applies a new xDS config: clusters first, then the routes that name them, then the inbound
   * policy (which new connections take; open ones keep the chain they were accepted with).
   */
  public void apply(ProxyConfig config) {
    clusters.apply(config);
    outboundRouting.apply(config);
    inboundChains = InboundChains.of(config).orElse(null);
    outboundChains =
        OutboundChains.of(config, outbound == null ? 15001 : outboundAddress().get().getPort());
    List<HttpConnectionManager> managers = captureManagers(config);
    AccessLogConfig wanted =
        managers.stream()
            .map(AccessLogConfig::of)
            .flatMap(Optional::stream)
            .findFirst()
            .orElse(null);
    if (!java.util.Objects.equals(wanted, accessLogConfig)) {
      try {
        telemetry.accessLog(wanted == null ? null : wanted.open());
        accessLogConfig = wanted;
      } catch (java.io.UncheckedIOException e) {
        // The rest of the config applies; the log is tried again with the next config.
        log.warn("access log not opened: {}", e.getMessage());
      }
    }
    TracingConfig tracing =
        managers.stream().map(TracingConfig::of).flatMap(Optional::stream).findFirst().orElse(null);
    Tracing current = telemetry.tracing();
    if (!java.util.Objects.equals(tracing, current == null ? null : current.config())) {
      telemetry.tracing(tracing == null ? null : Tracing.start(tracing, telemetry.self()));
    }
  }

  /**
   * The HTTP connection managers of the capture listeners, outbound first: the access log and
   * tracing the first of them configures are the proxy's.
   */
  private static List<HttpConnectionManager> captureManagers(ProxyConfig config) {
    List<HttpConnectionManager> managers = new ArrayList<>();
    for (String name : List.of(OutboundRouting.LISTENER, InboundChains.LISTENER)) {
      var listener = config.listeners().get(name);
      if (listener == null) {
        continue;
      }
      for (var chain : listener.getFilterChainsList()) {
        for (var filter : chain.getFiltersList()) {
          if (filter.getTypedConfig().is(HttpConnectionManager.class)) {
            try {
              managers.add(filter.getTypedConfig().unpack(HttpConnectionManager.class));
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
              // the xDS client refused such a listener already
            }
          }
        }
      }
    }
    return managers;
  }

  public ClusterManager clusters() {
    return clusters;
  }

  public ProxyStats stats() {
    return stats;
  }

  /** Istio's standard metrics (in {@link #stats}'s registry) and the access log switch. */
  public Telemetry telemetry() {
    return telemetry;
  }

  /** Where the outbound listener is bound, if it runs. */
  public Optional<InetSocketAddress> outboundAddress() {
    return Optional.ofNullable(outbound).map(c -> (InetSocketAddress) c.localAddress());
  }

  /** Where each inbound listener is bound, in the order the ports were given. */
  public List<InetSocketAddress> inboundAddresses() {
    return inbound.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
  }

  private void startOutbound(InetSocketAddress bind) throws InterruptedException {
    outbound =
        bindOutbound(
            bind,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(
                        sniffer(
                            detected -> {
                              if (detected == ServerPipelines.Detected.HTTP2) {
                                ServerPipelines.http2(ch.pipeline(), outboundListener);
                              } else {
                                ServerPipelines.http1(ch.pipeline(), outboundListener);
                              }
                            }));
              }
            });
  }

  private void startInbound(InboundPort port) throws InterruptedException {
    UpstreamCluster app = appCluster(port);
    HttpListener routing =
        new HttpListener(
            new InboundRouting(app, APP_RETRIES, stats, () -> inboundChains),
            upstreams,
            HttpProxy::decorateInbound,
            limits,
            stats,
            telemetry,
            RequestRecord.Reporter.DESTINATION);
    Channel server =
        bindInbound(
            port,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(sniffer(detected -> onInbound(ch, port, app, routing, detected)));
              }
            });
    if (server != null) {
      inbound.add(server);
    }
  }

  /**
   * The outbound listener: {@code explicit} as is, or, when traffic is intercepted, behind the
   * capture listener's decision by original destination (see {@link VirtualOutbound}).
   */
  private Channel bindOutbound(InetSocketAddress address, ChannelInitializer<Channel> explicit)
      throws InterruptedException {
    if (interception == InterceptionMode.NONE) {
      return bind(address, explicit);
    }
    return bind(
        address,
        new VirtualOutbound(
            () -> outboundChains,
            clusters,
            ch -> ch.pipeline().addLast(explicit),
            this::interceptedHttp,
            upstreams::openTunnel,
            interceptStats,
            telemetry,
            detectionTimeout),
        false);
  }

  /** HTTP on an intercepted outbound connection: routed by Host, unknown hosts per the policy. */
  private void interceptedHttp(
      Channel ch, boolean http2, InetSocketAddress destination, boolean allowAny) {
    HttpListener listener =
        new HttpListener(
            new TransparentRouting(outboundRouting, destination, allowAny),
            upstreams,
            (channel, headers) -> {},
            limits,
            stats,
            telemetry,
            RequestRecord.Reporter.SOURCE);
    if (http2) {
      ServerPipelines.http2(ch.pipeline(), listener);
    } else {
      ServerPipelines.http1(ch.pipeline(), listener);
    }
  }

  /**
   * One inbound port's listener; when traffic is intercepted, the port is only noted (null is
   * returned) and served by the capture listener {@link #startInboundCapture} binds.
   */
  private Channel bindInbound(InboundPort port, ChannelInitializer<Channel> initializer)
      throws InterruptedException {
    if (interception == InterceptionMode.NONE) {
      return bind(port.listen(), initializer);
    }
    capturedPorts.put(port.listen().getPort(), initializer);
    return null;
  }

  /** One capture listener for every inbound port, each picked by the original destination port. */
  private void startInboundCapture() throws InterruptedException {
    Map<Integer, java.util.function.Consumer<Channel>> byPort = new LinkedHashMap<>();
    capturedPorts.forEach(
        (port, initializer) -> byPort.put(port, ch -> ch.pipeline().addLast(initializer)));
    inbound.add(
        bind(
            inboundCapture,
            new VirtualInbound(interception, byPort, interceptStats),
            interception == InterceptionMode.TPROXY));
  }

  private ServerPipelines.Sniffer sniffer(
      java.util.function.Consumer<ServerPipelines.Detected> then) {
    return new ServerPipelines.Sniffer(then, detectionTimeout, stats);
  }

  /** Connect failures to the local application are retried once: it may be restarting. */
  private static final RetryRules APP_RETRIES =
      RetryRules.of(
          RetryPolicy.newBuilder()
              .setRetryOn("connect-failure")
              .setNumRetries(com.google.protobuf.UInt32Value.of(1))
              .build());

  private void onInbound(
      Channel ch,
      InboundPort port,
      UpstreamCluster app,
      HttpListener routing,
      ServerPipelines.Detected detected) {
    ChannelPipeline pipeline = ch.pipeline();
    boolean tlsDetected = detected == ServerPipelines.Detected.TLS;
    InboundChains chains = inboundChains;
    if (chains != null) {
      int destination = OriginalDestination.of(ch).getPort();
      Optional<InboundChains.Chain> chain = chains.select(destination, tlsDetected);
      if (chain.isEmpty()) {
        stats.rejected(
            (tlsDetected ? "mTLS" : "plaintext")
                + " from "
                + ch.remoteAddress()
                + " to port "
                + destination
                + ": no inbound filter chain takes it"
                + (tlsDetected ? " (mTLS DISABLE)" : " (mTLS STRICT)"));
        ch.close();
        return;
      }
      ch.attr(InboundRouting.CHAIN).set(chain.get());
      ch.attr(InboundRouting.CHAINS).set(chains);
    } else if (!tlsDetected && port.mode() == InboundPort.TlsMode.STRICT) {
      stats.rejected("plaintext on " + port.listen() + " (STRICT mTLS)");
      ch.close();
      return;
    }
    if (tlsDetected) {
      if (tls.isEmpty()) {
        stats.rejected("TLS on " + port.listen() + " but this proxy has no identity");
        ch.close();
        return;
      }
      pipeline.addLast("tls", tls.get().serverHandler(ch.alloc()));
      pipeline.addLast(
          new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
              if (evt instanceof SslHandshakeCompletionEvent done) {
                if (!done.isSuccess()) {
                  // Stays in the pipeline: the decoder reports the same failure next.
                  stats.rejected(
                      "mTLS handshake from "
                          + ch.remoteAddress()
                          + " failed: "
                          + done.cause().getMessage());
                  ch.close();
                  return;
                }
                ctx.pipeline().remove(this);
                String alpn = ctx.pipeline().get(SslHandler.class).applicationProtocol();
                afterTls(ch, port, app, routing, ApplicationProtocolNames.HTTP_2.equals(alpn));
                return;
              }
              ctx.fireUserEventTriggered(evt);
            }

            // Before the handshake is done, an exception is the handshake failing (counted by the
            // completion event) or the connection breaking: close without the stack trace that
            // Netty logs for exceptions reaching the pipeline's tail, which any client could
            // otherwise have logged at will.
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
              log.debug("inbound TLS from {} failed: {}", ch.remoteAddress(), cause.toString());
              ctx.close();
            }
          });
      return;
    }
    if (port.protocol() == InboundPort.AppProtocol.TCP) {
      relayToApp(ch, app);
    } else if (detected == ServerPipelines.Detected.HTTP2) {
      ServerPipelines.http2(pipeline, routing);
    } else {
      ServerPipelines.http1(pipeline, routing);
    }
  }

  private void afterTls(
      Channel ch, InboundPort port, UpstreamCluster app, HttpListener routing, boolean h2) {
    if (port.protocol() == InboundPort.AppProtocol.TCP) {
      relayToApp(ch, app);
      return;
    }
    ch.pipeline()
        .addLast(
            sniffer(
                detected -> {
                  if (h2 || detected == ServerPipelines.Detected.HTTP2) {
                    ServerPipelines.http2(ch.pipeline(), routing);
                  } else {
                    ServerPipelines.http1(ch.pipeline(), routing);
                  }
                }));
  }

  /**
   * Opaque TCP: once the chain's network RBAC filters allow the connection, connect to the
   * application and relay both ways, counted in Istio's TCP metrics; a denied connection is closed.
   * What arrives meanwhile (the first bytes, often decoded together with the TLS handshake's last
   * message) is held for the application.
   */
  private void relayToApp(Channel ch, UpstreamCluster app) {
    var attributes = InboundRouting.connectionAttributes(ch);
    InboundChains.Chain chain = ch.attr(InboundRouting.CHAIN).get();
    if (chain != null && !chain.network().allowsEverything()) {
      var decision = chain.network().check(attributes);
      stats.authorized(
          decision,
          "connection from "
              + attributes.principal().orElse("plaintext " + attributes.source())
              + " to port "
              + attributes.destination().getPort());
      if (decision instanceof dev.fedmesh.proxy.authz.Decision.Denied) {
        ch.close();
        return;
      }
    }
    Telemetry.TcpConnection connection =
        telemetry.tcpOpened(
            RequestRecord.Reporter.DESTINATION,
            "-",
            Workload.UNKNOWN,
            attributes.principal().orElse("unknown"),
            attributes.principal().isPresent());
    ch.closeFuture().addListener(closed -> connection.closed());
    var host = app.hosts().get(0);
    dev.fedmesh.proxy.net.Relay.connect(
        ch,
        host.address(),
        (int) app.connectTimeoutMillis(),
        cause -> log.debug("application at {} refused: {}", host.address(), cause.toString()),
        new dev.fedmesh.proxy.net.Relay.Counters(connection::received, connection::sent));
  }

  /**
   * Envoy's x-forwarded-client-cert, set (never passed through) on requests to the application: the
   * caller's SPIFFE ID as the peer proved it in the mTLS handshake.
   */
  static void decorateInbound(Channel channel, HttpHeaders headers) {
    headers.remove("x-forwarded-client-cert");
    // An HTTP/2 stream's TLS is on its connection; an accepted socket's parent is the listener.
    Channel connection =
        channel instanceof io.netty.handler.codec.http2.Http2StreamChannel
            ? channel.parent()
            : channel;
    SslHandler ssl = connection.pipeline().get(SslHandler.class);
    if (ssl == null) {
      return;
    }
    Optional<SpiffeId> peer = TlsContexts.peerId(connection);
    peer.ifPresent(id -> headers.set("x-forwarded-client-cert", "URI=" + id));
    headers.set("x-forwarded-proto", "https");
  }

  private static UpstreamCluster appCluster(InboundPort port) {
    return UpstreamCluster.singleHost(
        "inbound|" + port.listen().getPort() + "||", port.app(), java.time.Duration.ofSeconds(1));
  }

  private Channel bind(InetSocketAddress address, ChannelInitializer<Channel> initializer)
      throws InterruptedException {
    return bind(address, initializer, false);
  }

  /**
   * @param transparent accept connections addressed to any address (TPROXY's capture listener)
   */
  private Channel bind(
      InetSocketAddress address, ChannelInitializer<Channel> initializer, boolean transparent)
      throws InterruptedException {
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(Transports.serverChannel(group))
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(initializer);
    if (transparent) {
      bootstrap.option(io.netty.channel.epoll.EpollChannelOption.IP_TRANSPARENT, true);
    }
    Channel channel = bootstrap.bind(address).sync().channel();
    servers.add(channel);
    return channel;
  }

  /** Stops listening; connections still open are closed with their event loops by the owner. */
  @Override
  public void close() {
    for (Channel server : servers) {
      server.close().syncUninterruptibly();
    }
    telemetry.tracing(null); // exports the spans still batched
    telemetry.accessLog(null); // writes the lines still buffered
    if (ownsClusters) {
      clusters.close(); // the DNS clusters' lookups
    }
  }

  public static final class Builder {
    private final EventLoopGroup group;
    private ClusterManager clusters;
    private Optional<ProxyIdentity> identity = Optional.empty();
    private ProxyStats stats = new ProxyStats();
    private Workload workload = Workload.UNKNOWN;
    private HttpProxyHandler.Limits limits = HttpProxyHandler.Limits.DEFAULT;
    private InetSocketAddress outbound;
    private final List<InboundPort> inboundPorts = new ArrayList<>();
    private java.time.Duration detectionTimeout = ServerPipelines.DEFAULT_DETECTION_TIMEOUT;
    private InterceptionMode interception = InterceptionMode.NONE;
    private InetSocketAddress inboundCapture;

    private Builder(EventLoopGroup group) {
      this.group = requireNonNull(group, "group");
    }

    public Builder clusters(ClusterManager clusters) {
      this.clusters = requireNonNull(clusters, "clusters");
      return this;
    }

    public Builder identity(ProxyIdentity identity) {
      this.identity = Optional.of(identity);
      return this;
    }

    /** The workload this proxy stands in front of, for telemetry labels and metadata exchange. */
    public Builder workload(Workload workload) {
      this.workload = requireNonNull(workload, "workload");
      return this;
    }

    public Builder stats(ProxyStats stats) {
      this.stats = requireNonNull(stats, "stats");
      return this;
    }

    /** Request-body bytes kept for retries, and the time allowed for request headers. */
    public Builder limits(int bufferLimitBytes, long headerTimeoutMillis) {
      this.limits = new HttpProxyHandler.Limits(bufferLimitBytes, headerTimeoutMillis);
      return this;
    }

    /**
     * How long a new connection, on any listener, may stay silent before its first bytes say what
     * it speaks (default 5 s); then it is closed and counted as refused.
     */
    public Builder protocolDetectionTimeout(java.time.Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException(
            "protocolDetectionTimeout: " + timeout + " (expected: > 0)");
      }
      this.detectionTimeout = timeout;
      return this;
    }

    public Builder outbound(InetSocketAddress bind) {
      this.outbound = bind;
      return this;
    }

    public Builder inbound(InboundPort port) {
      inboundPorts.add(requireNonNull(port, "port"));
      return this;
    }

    /**
     * Transparent interception (see {@link InterceptionMode}): the outbound listener takes
     * redirected connections by their original destination, and one inbound listener on {@code
     * inboundCapture} takes every inbound port's traffic instead of a listener per port. Needs the
     * native transport: {@code group} must be {@link Transports#eventLoopGroup}'s on Linux.
     */
    public Builder interception(InterceptionMode mode, InetSocketAddress inboundCapture) {
      this.interception = requireNonNull(mode, "mode");
      this.inboundCapture = inboundCapture;
      return this;
    }

    /** Binds every listener; fails (and binds nothing) if any address is taken. */
    public HttpProxy start() throws InterruptedException {
      if (interception != InterceptionMode.NONE) {
        if (!Transports.isNative(group)) {
          throw new IllegalStateException(
              "interception: "
                  + interception
                  + " needs Netty's native epoll transport to read original destinations, and"
                  + " the proxy runs on NIO ("
                  + Transports.nativeUnavailableReason().orElse("the event loops are not epoll's")
                  + ")");
        }
        requireNonNull(inboundCapture, "inboundCapture");
      }
      HttpProxy proxy = new HttpProxy(this);
      try {
        if (outbound != null) {
          proxy.startOutbound(outbound);
        }
        for (InboundPort port : inboundPorts) {
          proxy.startInbound(port);
        }
        if (interception != InterceptionMode.NONE) {
          proxy.startInboundCapture();
        }
      } catch (RuntimeException | InterruptedException e) {
        proxy.close();
        throw e;
      }
      return proxy;
    }
  }
}
