package dev.fedmesh.proxy.intercept;

import static java.util.Objects.requireNonNull;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound capture listener (Envoy's {@code virtualInbound}): the original destination port of
 * each connection the pod's rules sent here picks the inbound port it was meant for, with that
 * port's protocol and mTLS mode. A port the sidecar was not told about is refused: traffic to the
 * pod never skips the sidecar's checks by using an undeclared port.
 */
public final class VirtualInbound extends ChannelInitializer<Channel> {
  private static final Logger log = LoggerFactory.getLogger(VirtualInbound.class);

  private final InterceptionMode mode;
  private final Map<Integer, Consumer<Channel>> ports;
  private final InterceptStats stats;

  /**
   * @param ports the inbound pipeline of each declared port, by the port the application's callers
   *     connect to
   */
  public VirtualInbound(
      InterceptionMode mode, Map<Integer, Consumer<Channel>> ports, InterceptStats stats) {
    if (mode == InterceptionMode.NONE) {
      throw new IllegalArgumentException("interception: NONE (expected: REDIRECT or TPROXY)");
    }
    this.mode = mode;
    this.ports = Map.copyOf(ports);
    this.stats = requireNonNull(stats, "stats");
  }

  @Override
  protected void initChannel(Channel ch) {
    InetSocketAddress destination =
        mode == InterceptionMode.TPROXY
            ? OriginalDestination.tproxied(ch)
            : OriginalDestination.redirected(ch).orElse((InetSocketAddress) ch.localAddress());
    ch.attr(OriginalDestination.ATTRIBUTE).set(destination);
    Consumer<Channel> port = ports.get(destination.getPort());
    if (port == null) {
      stats.inbound("unknown_port");
      log.debug(
          "refused {} from {}: port {} is not an inbound port of this sidecar",
          destination,
          ch.remoteAddress(),
          destination.getPort());
      ch.close();
      return;
    }
    stats.inbound("inbound");
    port.accept(ch);
  }
}
