package dev.fedmesh.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.testkit.FakeClock;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** STRICT_DNS and LOGICAL_DNS clusters: names looked up off the event loops, and again. */
class DnsClusterTest {
  private final FakeClock clock = new FakeClock();
  private final Map<String, List<InetAddress>> records = new ConcurrentHashMap<>();
  private final AtomicInteger lookups = new AtomicInteger();
  private final HostResolver resolver =
      host -> {
        lookups.incrementAndGet();
        List<InetAddress> addresses = records.get(host);
        if (addresses == null) {
          throw new UnknownHostException(host);
        }
        return addresses;
      };
  private final ClusterManager manager =
      new ClusterManager(
          clock.nanoTime(), RandomGenerator.getDefault(), resolver, clock.scheduler());

  @AfterEach
  void tearDown() {
    manager.close();
  }

  private static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private static LbEndpoint endpoint(String address, int port, int weight) {
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(
                    Address.newBuilder()
                        .setSocketAddress(
                            SocketAddress.newBuilder().setAddress(address).setPortValue(port))))
        .setLoadBalancingWeight(UInt32Value.of(weight))
        .build();
  }

  private static Cluster.Builder dns(Cluster.DiscoveryType type, LbEndpoint... endpoints) {
    return Cluster.newBuilder()
        .setName("outbound|443||api.example.com")
        .setType(type)
        .setConnectTimeout(Durations.fromSeconds(1))
        .setLoadAssignment(
            ClusterLoadAssignment.newBuilder()
                .setClusterName("outbound|443||api.example.com")
                .addEndpoints(
                    LocalityLbEndpoints.newBuilder()
                        .setLocality(Locality.newBuilder().setRegion("us-east"))
                        .addAllLbEndpoints(List.of(endpoints))));
  }

  private void apply(Cluster cluster) {
    manager.apply(
        new ProxyConfig(Map.of(), Map.of(), Map.of(cluster.getName(), cluster), Map.of()));
  }

  private List<String> hosts() {
    return manager.cluster("outbound|443||api.example.com").orElseThrow().hosts().stream()
        .map(UpstreamHost::toString)
        .toList();
  }

  @Test
  void strictDnsMakesEveryAddressAHostAndLooksAgainEveryRefreshPeriod() {
    records.put("api.example.com", List.of(ip("192.0.2.1"), ip("192.0.2.2"), ip("2001:db8::1")));
    apply(
        dns(Cluster.DiscoveryType.STRICT_DNS, endpoint("api.example.com", 443, 3))
            .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED)
            .setDnsRefreshRate(Durations.fromSeconds(5))
            .build());

    // Until the first answer the cluster has no host: no lookup ran on the caller's thread.
    assertThat(hosts()).isEmpty();
    assertThat(lookups).hasValue(0);
    clock.runDueTasks();
    assertThat(hosts()).containsExactly("192.0.2.1:443", "192.0.2.2:443");
    UpstreamHost first = manager.cluster("outbound|443||api.example.com").get().hosts().get(0);
    assertThat(first.weight()).isEqualTo(3);
    assertThat(first.locality().getRegion()).isEqualTo("us-east");

    records.put("api.example.com", List.of(ip("192.0.2.2"), ip("192.0.2.3")));
    clock.forward(Duration.ofSeconds(4));
    assertThat(hosts()).containsExactly("192.0.2.1:443", "192.0.2.2:443");
    clock.forward(Duration.ofSeconds(1));
    assertThat(hosts()).containsExactly("192.0.2.2:443", "192.0.2.3:443");
    // A host that stays is the same object, with its outlier state and counters.
    assertThat(manager.cluster("outbound|443||api.example.com").get().hosts().get(0))
        .isSameAs(
            manager.cluster("outbound|443||api.example.com").get().hosts().stream()
                .filter(h -> h.toString().equals("192.0.2.2:443"))
                .findFirst()
                .orElseThrow());
  }

  @Test
  void aFailedLookupKeepsTheAddressesTheNameHad() {
    records.put("api.example.com", List.of(ip("192.0.2.1")));
    apply(
        dns(Cluster.DiscoveryType.STRICT_DNS, endpoint("api.example.com", 443, 1))
            .setDnsRefreshRate(Durations.fromSeconds(5))
            .build());
    clock.runDueTasks();
    records.remove("api.example.com");

    clock.forward(Duration.ofSeconds(5));

    assertThat(lookups).hasValue(2);
    assertThat(hosts()).containsExactly("192.0.2.1:443");
  }

  @Test
  void logicalDnsUsesTheFirstAddressOfTheFamilyAsked() {
    records.put("api.example.com", List.of(ip("2001:db8::1"), ip("192.0.2.1"), ip("192.0.2.2")));
    apply(
        dns(Cluster.DiscoveryType.LOGICAL_DNS, endpoint("api.example.com", 443, 1))
            .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY)
            .build());
    clock.runDueTasks();

    assertThat(hosts()).containsExactly("192.0.2.1:443");

    // Envoy's default, AUTO, prefers IPv6.
    apply(dns(Cluster.DiscoveryType.LOGICAL_DNS, endpoint("api.example.com", 443, 1)).build());
    clock.runDueTasks();
    assertThat(hosts()).containsExactly("2001:db8:0:0:0:0:0:1:443");
  }

  @Test
  void literalsNeedNoLookupAndAReplacedConfigKeepsItsHostsUntilTheNextAnswer() {
    records.put("api.example.com", List.of(ip("192.0.2.1")));
    apply(
        dns(
                Cluster.DiscoveryType.STRICT_DNS,
                endpoint("198.51.100.1", 443, 1),
                endpoint("api.example.com", 443, 1))
            .build());
    assertThat(hosts()).containsExactly("198.51.100.1:443");
    clock.runDueTasks();
    assertThat(hosts()).containsExactly("198.51.100.1:443", "192.0.2.1:443");

    apply(
        dns(Cluster.DiscoveryType.STRICT_DNS, endpoint("api.example.com", 8443, 1))
            .setConnectTimeout(Durations.fromSeconds(2))
            .build());
    assertThat(hosts()).containsExactly("192.0.2.1:8443");
    int before = lookups.get();
    clock.runDueTasks();
    assertThat(lookups.get()).isEqualTo(before + 1);
    // The replaced config's lookups stopped: one refresh pending, the new one's.
    assertThat(clock.pendingTasks()).isEqualTo(1);
  }

  @Test
  void aClusterThatLeavesStopsItsLookups() {
    records.put("api.example.com", List.of(ip("192.0.2.1")));
    apply(dns(Cluster.DiscoveryType.STRICT_DNS, endpoint("api.example.com", 443, 1)).build());
    clock.runDueTasks();

    manager.apply(ProxyConfig.EMPTY);
    int before = lookups.get();
    clock.forward(Duration.ofMinutes(1));

    assertThat(manager.cluster("outbound|443||api.example.com")).isEmpty();
    assertThat(lookups.get()).isEqualTo(before);
    assertThat(clock.pendingTasks()).isZero();
  }
}
