package dev.fedmesh.controller.configgen;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Addresses;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.XdsNames;
import dev.fedmesh.model.policy.ServiceEntry;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The names a sidecar answers when its pod's DNS is redirected to it, and the listener that carries
 * them: a UDP listener on 127.0.0.1:{@value XdsNames#DNS_PORT} with Envoy's DNS filter, whose
 * inline table lists every mesh name the proxy may call and the address it resolves to.
 *
 * <p>A service's names are {@code <svc>.<ns>.svc.cluster.local}, the shorter forms a pod's search
 * path makes of it ({@code <svc>.<ns>.svc}, {@code <svc>.<ns>}, and {@code <svc>} in the proxy's
 * own namespace), and, when some cluster exports it, the MCS name {@code
 * <svc>.<ns>.svc.clusterset.local}. They resolve to the Service's cluster IPs when the proxy's
 * cluster has the Service, and otherwise to the mesh's virtual address for it, which only exported
 * services have: a service no cluster exports is never answered with a mesh address, and a name the
 * table does not hold goes on to the pod's own resolvers. A ServiceEntry host resolves to the
 * entry's addresses, or to its virtual address when it lists none; entries with resolution NONE
 * keep the application's own answer (their traffic goes where the application sends it).
 */
final class SidecarDns {
  static final String CLUSTERSET_SUFFIX = ".svc.clusterset.local";

  /** How long clients may cache an answer; a new virtual address reaches them within it. */
  static final com.google.protobuf.Duration ANSWER_TTL = Durations.fromSeconds(30);

  /** The bound on an answer from the pod's own resolvers, as Envoy's default. */
  static final com.google.protobuf.Duration RESOLVER_TIMEOUT = Durations.fromSeconds(5);

  static final int MAX_PENDING_LOOKUPS = 256;

  private SidecarDns() {}

  /**
   * The addresses {@code proxy} resolves a service's names to: the local Service's cluster IPs, or
   * the service's virtual address when another cluster exports it; none when neither applies.
   */
  static List<String> addresses(
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards) {
    ServiceEndpoints local = localShard(proxy, shards);
    if (local != null) {
      // A headless local Service keeps the cluster DNS's answer (its pods' addresses).
      return local.clusterIps();
    }
    if (!exportedAnywhere(mesh, shards)) {
      return List.of();
    }
    return mesh.virtualAddress(key.fqdn()).map(List::of).orElse(List.of());
  }

  /** Every name of one service that {@code proxy} answers, each with its addresses. */
  static SortedMap<String, List<String>> serviceNames(
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards) {
    SortedMap<String, List<String>> names = new TreeMap<>();
    List<String> addresses = addresses(mesh, proxy, key, shards);
    if (addresses.isEmpty()) {
      return names;
    }
    String name = key.name();
    String namespace = key.namespace();
    names.put(key.fqdn(), addresses);
    names.put(name + "." + namespace + ".svc", addresses);
    names.put(name + "." + namespace, addresses);
    if (namespace.equals(proxy.namespace())) {
      names.put(name, addresses);
    }
    if (exportedAnywhere(mesh, shards)) {
      names.put(name + "." + namespace + CLUSTERSET_SUFFIX, addresses);
    }
    return names;
  }

  /** The names of the mesh's ServiceEntries, each with its addresses. */
  static SortedMap<String, List<String>> entryNames(MeshSnapshot mesh) {
    SortedMap<String, List<String>> names = new TreeMap<>();
    for (ServiceEntry entry : mesh.policies().serviceEntries()) {
      if (entry.resolution() == ServiceEntry.Resolution.NONE) {
        continue;
      }
      List<String> own = new ArrayList<>();
      for (String address : entry.addresses()) {
        single(address).ifPresent(own::add);
      }
      for (String host : entry.hosts()) {
        if (host.startsWith("*")) {
          continue;
        }
        List<String> addresses =
            !entry.addresses().isEmpty()
                ? own
                : mesh.virtualAddress(host).map(List::of).orElse(List.of());
        if (!addresses.isEmpty()) {
          names.putIfAbsent(host, List.copyOf(addresses));
        }
      }
    }
    return names;
  }

  /** An address, or a CIDR of exactly one address, as an address; empty for wider ranges. */
  private static Optional<String> single(String address) {
    int slash = address.indexOf('/');
    if (slash < 0) {
      return Addresses.isIpLiteral(address) ? Optional.of(address) : Optional.empty();
    }
    String ip = address.substring(0, slash);
    String length = address.substring(slash + 1);
    boolean one = ip.contains(":") ? length.equals("128") : length.equals("32");
    return one && Addresses.isIpLiteral(ip) ? Optional.of(ip) : Optional.empty();
  }

  /** The sidecar's DNS listener over {@code parts} (per service, then the entries'), merged. */
  static Listener listener(Collection<? extends Map<String, List<String>>> parts) {
    SortedMap<String, List<String>> names = new TreeMap<>();
    for (Map<String, List<String>> part : parts) {
      part.forEach(names::putIfAbsent);
    }
    DnsTable.Builder table = DnsTable.newBuilder();
    names.forEach(
        (name, addresses) ->
            table.addVirtualDomains(
                DnsTable.DnsVirtualDomain.newBuilder()
                    .setName(name)
                    .setEndpoint(
                        DnsTable.DnsEndpoint.newBuilder()
                            .setAddressList(
                                DnsTable.AddressList.newBuilder().addAllAddress(addresses)))
                    .setAnswerTtl(ANSWER_TTL)));
    DnsFilterConfig config =
        DnsFilterConfig.newBuilder()
            .setStatPrefix("dns")
            .setServerConfig(
                DnsFilterConfig.ServerContextConfig.newBuilder().setInlineDnsTable(table))
            .setClientConfig(
                DnsFilterConfig.ClientContextConfig.newBuilder()
                    .setResolverTimeout(RESOLVER_TIMEOUT)
                    .setMaxPendingLookups(MAX_PENDING_LOOKUPS))
            .build();
    return Listener.newBuilder()
        .setName(XdsNames.DNS_LISTENER)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder()
                        .setProtocol(SocketAddress.Protocol.UDP)
                        .setAddress("127.0.0.1")
                        .setPortValue(XdsNames.DNS_PORT)))
        .setUdpListenerConfig(UdpListenerConfig.getDefaultInstance())
        .addListenerFilters(
            ListenerFilter.newBuilder()
                .setName(XdsNames.DNS_FILTER)
                .setTypedConfig(Any.pack(config)))
        .build();
  }

  /**
   * The addresses an intercepted connection to a service port may be sent to besides its endpoints:
   * the service's virtual address and the local Service's cluster IPs, whatever the proxy's DNS
   * answers.
   */
  static List<String> serviceAddresses(
      MeshSnapshot mesh,
      ProxyContext proxy,
      ServiceKey key,
      SortedMap<ClusterName, ServiceEndpoints> shards) {
    List<String> addresses = new ArrayList<>();
    ServiceEndpoints local = localShard(proxy, shards);
    if (local != null) {
      addresses.addAll(local.clusterIps());
    }
    if (exportedAnywhere(mesh, shards)) {
      mesh.virtualAddress(key.fqdn()).ifPresent(addresses::add);
    }
    return addresses;
  }

  private static ServiceEndpoints localShard(
      ProxyContext proxy, SortedMap<ClusterName, ServiceEndpoints> shards) {
    for (ServiceEndpoints shard : shards.values()) {
      if (shard.cluster().value().equals(proxy.cluster())) {
        return shard;
      }
    }
    return null;
  }

  static boolean exportedAnywhere(
      MeshSnapshot mesh, SortedMap<ClusterName, ServiceEndpoints> shards) {
    for (ServiceEndpoints shard : shards.values()) {
      if (ConfigGenerator.exported(mesh, shard)) {
        return true;
      }
    }
    return false;
  }
}
