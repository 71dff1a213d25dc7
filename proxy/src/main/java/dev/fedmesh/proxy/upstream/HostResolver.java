package dev.fedmesh.proxy.upstream;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Finds the addresses of a name, for the endpoints of DNS clusters. Lookups may block: they run on
 * the cluster manager's own thread, never on an event loop.
 */
@FunctionalInterface
public interface HostResolver {
  /**
   * Every address {@code host} has now.
   *
   * @throws UnknownHostException when the name does not resolve
   */
  List<InetAddress> resolve(String host) throws UnknownHostException;

  /**
   * The JDK's resolver (the system's: {@code /etc/hosts}, then DNS). Its answers pass through the
   * JDK's own cache ({@code networkaddress.cache.ttl}, 30 s unless set), so a changed record is
   * seen within that time plus the cluster's refresh rate.
   */
  static HostResolver system() {
    return host -> List.of(InetAddress.getAllByName(host));
  }
}
