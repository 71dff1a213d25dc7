package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.GatewayAddress;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.XdsNames;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.data.dns.v3.DnsTable;
import io.envoyproxy.envoy.extensions.filters.udp.dns_filter.v3.DnsFilterConfig;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * What a DNS-capturing sidecar answers: local services by their cluster IPs, services only other
 * clusters export by the mesh's virtual address, under every name a pod's search path or the MCS
 * domain produces; nothing for services no cluster exports; and intercepted connections to those
 * addresses routed as the service's.
 */
class SidecarDnsTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final Locality WEST_A = Locality.of("us-west", "us-west-a");
  private static final ServiceKey PAYMENTS = ServiceKey.of("shop", "payments");
  private static final ServiceKey CHECKOUT = ServiceKey.of("shop", "checkout");
  private static final ServiceKey LEDGER = ServiceKey.of("finance", "ledger");
  private static final ServiceKey SECRET = ServiceKey.of("shop", "secret");
  private static final ServicePort HTTP = new ServicePort("http", 80, Protocol.HTTP);
  private static final ServicePort TCP = new ServicePort("tcp-db", 5432, Protocol.TCP);
  private static final ProxyContext EAST_SHOP =
      new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A)
          .withWorkload("shop", Map.of("app", "frontend"))
          .withDnsCapture(true);

  private static dev.fedmesh.model.Endpoint ep(
      String address, String portName, int port, Locality locality) {
    return dev.fedmesh.model.Endpoint.of(address, Map.of(portName, port), locality);
  }

  private static MeshFixtures fixtures() {
    return mesh()
        .cluster("east", "east", EAST_A, new GatewayAddress("127.1.0.1", 15443))
        .cluster("west", "west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
        // payments: only in west, exported
        .service("west", PAYMENTS, HTTP, true, ep("10.2.0.1", "http", 8080, WEST_A))
        .clusterIps("west", PAYMENTS, "10.96.2.10")
        .virtualAddress(PAYMENTS.fqdn(), "240.240.0.7")
        // checkout: in both, exported by both; east has its own ClusterIP
        .service("east", CHECKOUT, HTTP, true, ep("10.1.0.2", "http", 8080, EAST_A))
        .clusterIps("east", CHECKOUT, "10.96.1.20")
        .service("west", CHECKOUT, HTTP, true, ep("10.2.0.2", "http", 8080, WEST_A))
        .virtualAddress(CHECKOUT.fqdn(), "240.240.0.8")
        // ledger: another namespace, TCP, only in west, exported
        .service("west", LEDGER, TCP, true, ep("10.2.0.3", "tcp-db", 5432, WEST_A))
        .virtualAddress(LEDGER.fqdn(), "240.240.0.9")
        // secret: only in west, not exported
        .service("west", SECRET, HTTP, false, ep("10.2.0.4", "http", 8080, WEST_A))
        .clusterIps("west", SECRET, "10.96.2.40");
  }

  private static Map<String, List<String>> table(Listener listener) throws Exception {
    assertThat(listener.getListenerFiltersList()).hasSize(1);
    assertThat(listener.getListenerFilters(0).getName()).isEqualTo(XdsNames.DNS_FILTER);
    DnsFilterConfig config =
        listener.getListenerFilters(0).getTypedConfig().unpack(DnsFilterConfig.class);
    Map<String, List<String>> names = new TreeMap<>();
    for (DnsTable.DnsVirtualDomain domain :
        config.getServerConfig().getInlineDnsTable().getVirtualDomainsList()) {
      names.put(domain.getName(), domain.getEndpoint().getAddressList().getAddressList());
    }
    return names;
  }

  @Test
  void aCapturingSidecarAnswersEveryMeshNameWithTheAddressItsClusterShouldUse() throws Exception {
    XdsResources east = ConfigGenerator.generate(fixtures().build(), EAST_SHOP);

    Listener dns = east.listeners().get(XdsNames.DNS_LISTENER);
    assertThat(dns.getAddress().getSocketAddress().getProtocol())
        .isEqualTo(SocketAddress.Protocol.UDP);
    assertThat(dns.getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    assertThat(dns.getAddress().getSocketAddress().getPortValue()).isEqualTo(XdsNames.DNS_PORT);
    Map<String, List<String>> names = table(dns);
    // Only in west: the virtual address, under the cluster.local, short and clusterset names.
    for (String name :
        List.of(
            "payments.shop.svc.cluster.local",
            "payments.shop.svc",
            "payments.shop",
            "payments",
            "payments.shop.svc.clusterset.local")) {
      assertThat(names).as(name).containsEntry(name, List.of("240.240.0.7"));
    }
    // East has its own Service: its ClusterIP, for both domains.
    assertThat(names)
        .containsEntry("checkout.shop.svc.cluster.local", List.of("10.96.1.20"))
        .containsEntry("checkout.shop.svc.clusterset.local", List.of("10.96.1.20"));
    // Another namespace: no bare short name (the pod's search path would not make it).
    assertThat(names)
        .containsEntry("ledger.finance.svc.cluster.local", List.of("240.240.0.9"))
        .containsEntry("ledger.finance", List.of("240.240.0.9"))
        .doesNotContainKey("ledger");
    // Not exported anywhere: never a mesh address; the pod's resolvers answer (or not).
    assertThat(names.keySet()).noneMatch(name -> name.startsWith("secret."));
  }

  @Test
  void westAnswersItsOwnServicesWithTheirClusterIpsExportedOrNot() throws Exception {
    ProxyContext westShop =
        new ProxyContext(ProxyRole.SIDECAR, "west", "west", WEST_A)
            .withWorkload("shop", Map.of())
            .withDnsCapture(true);
    Map<String, List<String>> names =
        table(
            ConfigGenerator.generate(fixtures().build(), westShop)
                .listeners()
                .get(XdsNames.DNS_LISTENER));

    assertThat(names)
        .containsEntry("payments.shop.svc.cluster.local", List.of("10.96.2.10"))
        .containsEntry("secret.shop.svc.cluster.local", List.of("10.96.2.40"))
        .doesNotContainKey("secret.shop.svc.clusterset.local");
    // A local Service with no cluster IP (announced without one): the cluster DNS answers it.
    assertThat(names).doesNotContainKey("ledger.finance.svc.cluster.local");
  }

  @Test
  void anExportedServiceWithoutAnAddressYetIsNotAnsweredUntilItHasOne() throws Exception {
    MeshSnapshot before =
        mesh()
            .cluster("east", "east", EAST_A)
            .cluster("west", "west", WEST_A, new GatewayAddress("127.2.0.1", 15443))
            .service("west", PAYMENTS, HTTP, true, ep("10.2.0.1", "http", 8080, WEST_A))
            .build();
    assertThat(table(ConfigGenerator.generate(before, EAST_SHOP).listeners().get("dns"))).isEmpty();
  }

  @Test
  void onlySidecarsThatCaptureDnsGetTheListener() {
    MeshSnapshot snapshot = fixtures().build();
    ProxyContext plain = new ProxyContext(ProxyRole.SIDECAR, "east", "east", EAST_A);
    assertThat(ConfigGenerator.generate(snapshot, plain).listeners())
        .doesNotContainKey(XdsNames.DNS_LISTENER);
    assertThat(
            ConfigGenerator.generate(
                    snapshot, new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "east", EAST_A))
                .listeners())
        .doesNotContainKey(XdsNames.DNS_LISTENER);
    assertThat(EAST_SHOP.groupKey())
        .isNotEqualTo(plain.withWorkload("shop", Map.of("app", "frontend")).groupKey());
  }

  @Test
  void connectionsToAVirtualAddressAreRoutedAsTheService() {
    XdsResources east = ConfigGenerator.generate(fixtures().build(), EAST_SHOP);

    // TCP: a chain matching the virtual address on the service port.
    Listener outbound = east.listeners().get(XdsNames.VIRTUAL_OUTBOUND);
    FilterChain chain =
        outbound.getFilterChainsList().stream()
            .filter(c -> c.getName().equals("outbound|5432||ledger.finance.svc.cluster.local|vip"))
            .findFirst()
            .orElseThrow();
    assertThat(chain.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(5432);
    assertThat(chain.getFilterChainMatch().getPrefixRangesList())
        .extracting(r -> r.getAddressPrefix() + "/" + r.getPrefixLen().getValue())
        .containsExactly("240.240.0.9/32");
    // HTTP: the MCS name and the addresses are names of the service's virtual host.
    VirtualHost payments =
        east.routes().get("outbound").getVirtualHostsList().stream()
            .filter(h -> h.getName().equals("payments.shop.svc.cluster.local:80"))
            .findFirst()
            .orElseThrow();
    assertThat(payments.getDomainsList())
        .contains(
            "payments.shop.svc.clusterset.local",
            "payments.shop.svc.clusterset.local:80",
            "240.240.0.7",
            "240.240.0.7:80");
    VirtualHost checkout =
        east.routes().get("outbound").getVirtualHostsList().stream()
            .filter(h -> h.getName().equals("checkout.shop.svc.cluster.local:80"))
            .findFirst()
            .orElseThrow();
    assertThat(checkout.getDomainsList()).contains("10.96.1.20", "240.240.0.8:80");
  }

  @Test
  void serviceEntryHostsResolveToTheirAddressesOrTheirVirtualAddress() throws Exception {
    MeshSnapshot snapshot =
        fixtures()
            .policies(
                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: billing, namespace: shop}
                spec:
                  hosts: [billing.example.com]
                  addresses: [192.0.2.10, 198.51.100.0/24]
                  resolution: STATIC
                  ports: [{number: 443, name: tls, protocol: TLS}]
                  endpoints: [{address: 192.0.2.11}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: api, namespace: shop}
                spec:
                  hosts: [api.example.com]
                  resolution: DNS
                  ports: [{number: 80, name: http, protocol: HTTP}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: anything, namespace: shop}
                spec:
                  hosts: ["*.partner.example"]
                  resolution: NONE
                  ports: [{number: 443, name: tls, protocol: TLS}]
                """)
            .virtualAddress("api.example.com", "240.240.1.1")
            .build();

    Map<String, List<String>> names =
        table(ConfigGenerator.generate(snapshot, EAST_SHOP).listeners().get("dns"));

    assertThat(names)
        .containsEntry("billing.example.com", List.of("192.0.2.10"))
        .containsEntry("api.example.com", List.of("240.240.1.1"));
    assertThat(names.keySet()).noneMatch(name -> name.contains("partner"));
  }
}
