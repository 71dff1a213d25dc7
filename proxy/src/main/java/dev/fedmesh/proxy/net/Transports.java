package dev.fedmesh.proxy.net;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.Optional;

/**
 * Which Netty transport the proxy's sockets use: Linux's native epoll where it loads (it alone
 * reaches the socket options transparent interception needs), else Java NIO, on which everything
 * but interception works. A channel must match the event loop it is registered on, so the channel
 * classes are chosen by the loop, never by a global switch.
 */
public final class Transports {
  private Transports() {}

  /** Whether the native transport loaded on this machine. */
  public static boolean nativeAvailable() {
    return Epoll.isAvailable();
  }

  /** Why the native transport is not available, if it is not. */
  public static Optional<String> nativeUnavailableReason() {
    Throwable cause = Epoll.unavailabilityCause();
    return cause == null ? Optional.empty() : Optional.of(cause.toString());
  }

  /** Event loops on the native transport where it loads, else on NIO ({@code 0}: per core). */
  public static EventLoopGroup eventLoopGroup(int threads) {
    return new MultiThreadIoEventLoopGroup(
        threads, nativeAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /** Whether {@code group}'s loops run the native transport. */
  public static boolean isNative(EventLoopGroup group) {
    return group.next() instanceof IoEventLoopGroup loop && loop.isIoType(EpollIoHandler.class);
  }

  /** The listening socket class for {@code group}'s loops. */
  public static Class<? extends ServerChannel> serverChannel(EventLoopGroup group) {
    return isNative(group) ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  /** The connecting socket class for {@code group}'s (or one loop's) transport. */
  public static Class<? extends Channel> socketChannel(EventLoopGroup group) {
    return isNative(group) ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The UDP socket class for {@code group}'s (or one loop's) transport. */
  public static Class<? extends DatagramChannel> datagramChannel(EventLoopGroup group) {
    return isNative(group) ? EpollDatagramChannel.class : NioDatagramChannel.class;
  }
}
