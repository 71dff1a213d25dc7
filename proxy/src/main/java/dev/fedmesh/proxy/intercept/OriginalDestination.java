package dev.fedmesh.proxy.intercept;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.RawUnixChannelOption;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Where an intercepted connection was going before the pod's iptables rules sent it to the sidecar.
 *
 * <p>After {@code nat REDIRECT}, the accepted socket's local address is the sidecar's own; the
 * kernel's connection tracking keeps the original one, which {@code getsockopt(SOL_IP,
 * SO_ORIGINAL_DST)} returns as a {@code struct sockaddr_in} (for IPv6, {@code SOL_IPV6} and a
 * {@code sockaddr_in6}). After {@code TPROXY}, nothing was rewritten: the accepted socket's local
 * address is the original destination.
 */
public final class OriginalDestination {
  /** Where a captured connection was going, set by the capture listeners. */
  public static final io.netty.util.AttributeKey<InetSocketAddress> ATTRIBUTE =
      io.netty.util.AttributeKey.valueOf("fedmesh.originalDestination");

  /**
   * Where {@code channel} was going: the original destination when a capture listener took it, else
   * the address it was accepted on.
   */
  public static InetSocketAddress of(Channel channel) {
    InetSocketAddress original = channel.attr(ATTRIBUTE).get();
    return original != null ? original : (InetSocketAddress) channel.localAddress();
  }

  // <linux/netfilter_ipv4.h> SO_ORIGINAL_DST and <linux/netfilter_ipv6/ip6_tables.h>
  // IP6T_SO_ORIGINAL_DST are both 80; SOL_IP is 0, SOL_IPV6 is 41.
  private static final int SO_ORIGINAL_DST = 80;
  private static final RawUnixChannelOption IPV4 =
      new RawUnixChannelOption("SO_ORIGINAL_DST", 0, SO_ORIGINAL_DST, 16);
  private static final RawUnixChannelOption IPV6 =
      new RawUnixChannelOption("IP6T_SO_ORIGINAL_DST", 41, SO_ORIGINAL_DST, 28);
  private static final short AF_INET = 2;
  private static final short AF_INET6 = 10;

  private OriginalDestination() {}

  /**
   * The destination a {@code nat REDIRECT}ed connection had, or empty when the kernel has none for
   * it (it was not redirected, or connection tracking does not know it): such a connection was made
   * to the listener itself.
   *
   * @throws IllegalStateException when the channel is not on the native transport, which alone can
   *     ask the kernel
   */
  public static Optional<InetSocketAddress> redirected(Channel channel) {
    if (!(channel instanceof EpollSocketChannel)) {
      throw new IllegalStateException(
          "interception: the original destination of a redirected connection needs Netty's"
              + " native epoll transport, and this connection is on "
              + channel.getClass().getSimpleName());
    }
    Optional<InetSocketAddress> v4 = query(channel, IPV4);
    if (v4.isPresent()) {
      return v4;
    }
    InetSocketAddress local = (InetSocketAddress) channel.localAddress();
    if (local != null && local.getAddress().getAddress().length == 16) {
      return query(channel, IPV6);
    }
    return Optional.empty();
  }

  /** The destination of a connection a transparent (TPROXY) listener accepted. */
  public static InetSocketAddress tproxied(Channel channel) {
    return (InetSocketAddress) channel.localAddress();
  }

  private static Optional<InetSocketAddress> query(Channel channel, RawUnixChannelOption option) {
    ByteBuffer sockaddr;
    try {
      sockaddr = channel.config().getOption(option);
    } catch (ChannelException e) {
      return Optional.empty(); // ENOENT: not redirected
    }
    return sockaddr == null ? Optional.empty() : parse(sockaddr);
  }

  /**
   * Reads a {@code struct sockaddr_in} or {@code sockaddr_in6}: the family in host byte order, then
   * port and address in network byte order.
   */
  static Optional<InetSocketAddress> parse(ByteBuffer sockaddr) {
    ByteBuffer in = sockaddr.duplicate();
    if (in.remaining() < 8) {
      return Optional.empty();
    }
    short family = in.duplicate().order(ByteOrder.nativeOrder()).getShort(in.position());
    int port = Short.toUnsignedInt(in.order(ByteOrder.BIG_ENDIAN).getShort(in.position() + 2));
    byte[] address;
    int offset;
    if (family == AF_INET) {
      address = new byte[4];
      offset = 4;
    } else if (family == AF_INET6 && in.remaining() >= 24) {
      address = new byte[16];
      offset = 8; // after family, port and flowinfo
    } else {
      return Optional.empty();
    }
    in.position(in.position() + offset);
    in.get(address);
    try {
      return Optional.of(new InetSocketAddress(InetAddress.getByAddress(address), port));
    } catch (UnknownHostException e) {
      return Optional.empty(); // not reached: the length is 4 or 16
    }
  }
}
