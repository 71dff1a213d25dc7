package dev.fedmesh.proxy.dns;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.proxy.net.Transports;
import dev.fedmesh.proxy.xds.ProxyConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.NetUtil;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's DNS listener: the controller's {@code dns} listener ({@link DnsListenerConfig}),
 * served over UDP as Envoy's DNS filter serves it, and over TCP on the same address and port (RFC
 * 7766: 2-byte length prefix, pipelined queries answered as they complete), which Envoy's filter
 * does not do: clients retry over TCP when an answer is truncated, and forwarded TCP queries go
 * upstream over TCP. It runs on the proxy's event loops, on their transport.
 *
 * <p>Config arrives through {@link #apply}: a new table or resolver list replaces the old one in
 * place (same sockets; lookups in flight finish with the settings they started with), a new address
 * rebinds, and a config without the listener stops serving. A bind that fails is shown on the
 * status page and tried again every few seconds while the config stands.
 *
 * <p>Limits on the wire: UDP datagrams are read up to 4097 bytes (a longer query is FORMERR, see
 * {@link DownstreamQuery}); a TCP frame announcing more than 4096 bytes closes its connection
 * (nothing can be answered before its ID is read); a TCP connection idle for {@value
 * #TCP_IDLE_SECONDS} s with nothing in flight is closed. Bind a specific address: replies leave
 * from the socket's own address.
 */
public final class DnsProxy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsProxy.class);

  static final int TCP_IDLE_SECONDS = 30;
  private static final int PORT_ZERO_BIND_ATTEMPTS = 5;
  static final int BIND_RETRY_SECONDS = 2;

  private final EventLoopGroup group;
  private final ScheduledExecutorService executor;
  private final Path resolvConf;
  private final DnsMetrics metrics;
  private final AtomicInteger pending = new AtomicInteger();
  private final DnsFilter filter;
  private final Set<Channel> connections = ConcurrentHashMap.newKeySet();

  /** What queries are answered with; null while not serving. */
  private volatile DnsFilter.Settings settings;

  // Guarded by this.
  private DnsListenerConfig config;
  private Channel udp;
  private Channel tcp;
  private String error = "";
  private boolean closed;
  private String lastResolverProblem = "";

  private DnsProxy(
      EventLoopGroup group,
      ScheduledExecutorService executor,
      PrometheusRegistry registry,
      Path resolvConf,
      RandomGenerator random) {
    this.group = group;
    this.executor = executor;
    this.resolvConf = resolvConf;
    this.metrics = new DnsMetrics(registry, pending::get);
    this.filter =
        new DnsFilter(
            () -> settings,
            metrics,
            pending,
            random,
            Transports.datagramChannel(group),
            Transports.socketChannel(group));
  }

  /**
   * A DNS proxy on {@code group}'s loops, counting into {@code registry}, forwarding to the
   * nameservers of {@code resolvConf} when the config names no resolvers. Serves nothing until a
   * config with the DNS listener is applied. {@code executor} retries failed binds (binding waits,
   * so never on an event loop). Query IDs come from a {@link SecureRandom}.
   */
  public static DnsProxy create(
      EventLoopGroup group,
      ScheduledExecutorService executor,
      PrometheusRegistry registry,
      Path resolvConf) {
    return create(group, executor, registry, resolvConf, new SecureRandom());
  }

  /** As {@link #create(EventLoopGroup, ScheduledExecutorService, PrometheusRegistry, Path)}. */
  public static DnsProxy create(
      EventLoopGroup group,
      ScheduledExecutorService executor,
      PrometheusRegistry registry,
      Path resolvConf,
      RandomGenerator random) {
    return new DnsProxy(
        requireNonNull(group, "group"),
        requireNonNull(executor, "executor"),
        requireNonNull(registry, "registry"),
        requireNonNull(resolvConf, "resolvConf"),
        requireNonNull(random, "random"));
  }

  /** Serves the DNS listener of {@code config}, or stops if it has none. */
  public void apply(ProxyConfig config) {
    apply(DnsListenerConfig.of(config));
  }

  /** Serves {@code next}, or stops when it is empty. */
  public synchronized void apply(Optional<DnsListenerConfig> next) {
    if (next.isEmpty()) {
      if (config != null) {
        log.info("DNS listener removed; no longer serving {}", config.address());
      }
      stop();
      config = null;
      error = "";
      return;
    }
    DnsListenerConfig wanted = next.get();
    UpstreamResolvers upstream = UpstreamResolvers.of(wanted, resolvConf);
    if (!upstream.problem().isEmpty() && !upstream.problem().equals(lastResolverProblem)) {
      log.warn(
          "DNS listener: no upstream resolvers ({}: {}); names outside the table get SERVFAIL",
          upstream.source(),
          upstream.problem());
    }
    lastResolverProblem = upstream.problem();
    DnsFilter.Settings nextSettings =
        new DnsFilter.Settings(
            wanted.table(), upstream, wanted.tcpUpstream(), wanted.maxPendingLookups());
    boolean rebind = udp == null || !config.address().equals(wanted.address());
    config = wanted;
    settings = nextSettings;
    if (!rebind) {
      return;
    }
    stop();
    tryBind(wanted, nextSettings, true);
  }

  /**
   * Binds {@code wanted} if it is still the config and nothing is bound; on failure (the port still
   * held by a socket just closed, or by another process) tries again every {@value
   * #BIND_RETRY_SECONDS} s while the config stands, warning the first time only.
   */
  private synchronized void tryBind(
      DnsListenerConfig wanted, DnsFilter.Settings wantedSettings, boolean first) {
    if (config != wanted || udp != null || closed) {
      return;
    }
    settings = wantedSettings;
    try {
      bind(wanted.address());
      error = "";
      log.info(
          "DNS listener serving {} names on {} (UDP and TCP)",
          wanted.table().entries().size(),
          address().orElseThrow());
    } catch (Exception e) {
      stop();
      error = "cannot bind " + wanted.address() + ": " + e;
      if (first) {
        log.warn("DNS listener: {}; trying again every {} s", error, BIND_RETRY_SECONDS);
      } else {
        log.debug("DNS listener: {}", error);
      }
      try {
        executor.schedule(
            () -> tryBind(wanted, wantedSettings, false), BIND_RETRY_SECONDS, TimeUnit.SECONDS);
      } catch (RejectedExecutionException shuttingDown) {
        log.debug("DNS listener: not retrying the bind, the sidecar is stopping");
      }
    }
  }

  /** Where the listener is bound (UDP and TCP), while it serves. */
  public synchronized Optional<InetSocketAddress> address() {
    return Optional.ofNullable(udp).map(c -> (InetSocketAddress) c.localAddress());
  }

  public DnsMetrics metrics() {
    return metrics;
  }

  /** Forwarded queries waiting for an upstream answer now. */
  public int pendingLookups() {
    return pending.get();
  }

  private void bind(InetSocketAddress address) throws Exception {
    for (int attempt = 1; ; attempt++) {
      Channel boundUdp =
          new Bootstrap()
              .group(group)
              .channel(Transports.datagramChannel(group))
              .option(
                  ChannelOption.RCVBUF_ALLOCATOR,
                  new FixedRecvByteBufAllocator(DownstreamQuery.MAX_QUERY_BYTES + 1))
              .handler(new UdpFrontend())
              .bind(address)
              .sync()
              .channel();
      int port = ((InetSocketAddress) boundUdp.localAddress()).getPort();
      try {
        tcp =
            new ServerBootstrap()
                .group(group)
                .channel(Transports.serverChannel(group))
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new TcpFrontend())
                .bind(new InetSocketAddress(address.getAddress(), port))
                .sync()
                .channel();
        udp = boundUdp;
        return;
      } catch (Exception e) {
        boundUdp.close().syncUninterruptibly();
        // Port 0: the system's UDP port may be taken for TCP; another pick may not be.
        if (address.getPort() != 0 || attempt >= PORT_ZERO_BIND_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  private void stop() {
    settings = null;
    if (udp != null) {
      udp.close().syncUninterruptibly();
      udp = null;
    }
    if (tcp != null) {
      tcp.close().syncUninterruptibly();
      tcp = null;
    }
    for (Channel connection : connections) {
      connection.close();
    }
  }

  /** What the listener serves, for the admin page. */
  public synchronized Status status() {
    DnsFilter.Settings current = settings;
    List<Name> names =
        config == null
            ? List.of()
            : config.table().entries().stream()
                .map(
                    e ->
                        new Name(
                            e.name(),
                            Stream.concat(e.ipv4().stream(), e.ipv6().stream())
                                .map(NetUtil::toAddressString)
                                .toList(),
                            e.ttlSeconds()))
                .toList();
    UpstreamResolvers upstream = current == null ? null : current.upstream();
    return new Status(
        udp != null,
        address().map(NetUtil::toSocketAddressString).orElse(""),
        error,
        upstream == null
            ? List.of()
            : upstream.resolvers().stream().map(NetUtil::toSocketAddressString).toList(),
        upstream == null ? "" : upstream.source(),
        upstream == null ? "" : upstream.problem(),
        config == null ? 0 : config.resolverTimeout().toMillis(),
        config == null ? 0 : config.maxPendingLookups(),
        pending.get(),
        config == null ? List.of() : config.table().knownSuffixes(),
        names);
  }

  /**
   * The DNS listener's state for {@code /dns}.
   *
   * @param serving whether the UDP and TCP sockets are bound
   * @param address where, as {@code ip:port}
   * @param error why a listener the controller sent is not serving, else empty
   * @param resolvers where names outside the table go
   * @param resolversFrom {@code xds} or resolv.conf's path
   * @param resolversProblem why there are no resolvers, else empty
   * @param resolverTimeoutMillis the bound on a forwarded query
   * @param maxPendingLookups forwarded queries allowed in flight
   * @param pendingLookups forwarded queries in flight now
   * @param knownSuffixes {@code kind:pattern} of each known suffix
   * @param names the names answered from the table
   */
  public record Status(
      boolean serving,
      String address,
      String error,
      List<String> resolvers,
      String resolversFrom,
      String resolversProblem,
      long resolverTimeoutMillis,
      int maxPendingLookups,
      int pendingLookups,
      List<String> knownSuffixes,
      List<Name> names) {}

  /** One name of the table: its addresses (IPv4 first) and answer TTL. */
  public record Name(String name, List<String> addresses, int ttlSeconds) {}

  @Override
  public synchronized void close() {
    closed = true;
    stop();
    config = null;
  }

  /** UDP: one datagram, one message; the answer goes back to the sender. */
  private final class UdpFrontend extends SimpleChannelInboundHandler<DatagramPacket> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      InetSocketAddress client = packet.sender();
      Channel channel = ctx.channel();
      filter.onMessage(
          ByteBufUtil.getBytes(packet.content()),
          new DnsFilter.Downstream() {
            @Override
            public boolean udp() {
              return true;
            }

            @Override
            public EventLoop loop() {
              return channel.eventLoop();
            }

            @Override
            public ByteBufAllocator alloc() {
              return channel.alloc();
            }

            @Override
            public void send(ByteBuf message) {
              channel.writeAndFlush(new DatagramPacket(message, client));
            }

            @Override
            public void drop() {}
          });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A UDP socket reports errors of earlier sends (an ICMP error for a client gone away);
      // the socket itself is fine.
      log.debug("DNS listener (UDP): {}", cause.toString());
    }
  }

  /** TCP: length-prefixed messages, answered in any order, the connection kept for more. */
  private final class TcpFrontend extends ChannelInitializer<Channel> {
    @Override
    protected void initChannel(Channel ch) {
      connections.add(ch);
      ch.closeFuture().addListener(closed -> connections.remove(ch));
      ch.pipeline()
          .addLast(
              new IdleStateHandler(0, 0, TCP_IDLE_SECONDS, TimeUnit.SECONDS),
              new LengthFieldBasedFrameDecoder(DownstreamQuery.MAX_QUERY_BYTES + 2, 0, 2, 0, 2),
              new TcpConnection());
    }
  }

  private final class TcpConnection extends SimpleChannelInboundHandler<ByteBuf> {
    /** Messages read and not yet answered or dropped. */
    private int inFlight;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      Channel channel = ctx.channel();
      inFlight++;
      filter.onMessage(
          ByteBufUtil.getBytes(frame),
          new DnsFilter.Downstream() {
            @Override
            public boolean udp() {
              return false;
            }

            @Override
            public EventLoop loop() {
              return channel.eventLoop();
            }

            @Override
            public ByteBufAllocator alloc() {
              return channel.alloc();
            }

            @Override
            public void send(ByteBuf message) {
              inFlight--;
              ByteBuf length = channel.alloc().buffer(2).writeShort(message.readableBytes());
              channel.write(length);
              channel.writeAndFlush(message);
            }

            @Override
            public void drop() {
              inFlight--;
            }
          });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof IdleStateEvent && inFlight == 0) {
        ctx.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof TooLongFrameException) {
        metrics.invalid("tcp", "oversized");
      }
      log.debug("DNS listener (TCP) from {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
