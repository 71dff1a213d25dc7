package dev.fedmesh.controller.configgen;

import static dev.fedmesh.controller.MeshFixtures.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import dev.fedmesh.controller.MeshFixtures;
import dev.fedmesh.controller.model.MeshSnapshot;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import dev.fedmesh.model.XdsNames;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** ServiceEntry documents, each against the Envoy protos a sidecar or gRPC client gets. */
class ServiceEntryTranslationTest {
  private static final Locality EAST_A = Locality.of("us-east", "us-east-a");
  private static final ServiceKey CHECKOUT = ServiceKey.of("shop", "checkout");
  private static final ServicePort HTTP_8080 = new ServicePort("http", 8080, Protocol.HTTP);
  private static final ProxyContext SIDECAR =
      new ProxyContext(ProxyRole.SIDECAR, "east", "mesh", EAST_A);
  private static final ProxyContext GRPC_CLIENT =
      new ProxyContext(ProxyRole.PROXYLESS_GRPC, "east", "mesh", EAST_A);

  private static MeshFixtures shop() {
    return mesh()
        .cluster("east", "mesh", EAST_A)
        .shard(
            "east",
            CHECKOUT,
            List.of(HTTP_8080),
            false,
            new Endpoint(
                "10.1.0.1",
                Map.of("http", 8080),
                EAST_A,
                EndpointHealth.HEALTHY,
                Map.of(),
                "checkout",
                1,
                "checkout-1"));
  }

  private static String entry(String name, String spec) {
    return "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: "
        + name
        + ", namespace: egress}\nspec:\n"
        + spec.indent(2)
        + "---\n";
  }

  private static String simple(String host, String tls) {
    return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: "
        + host.replace('.', '-')
        + ", namespace: egress}\nspec:\n  host: "
        + host
        + "\n  trafficPolicy:\n    tls: "
        + tls
        + "\n---\n";
  }

  private static XdsResources generate(MeshSnapshot mesh, ProxyContext proxy) {
    XdsResources resources = ConfigGenerator.generate(mesh, proxy);
    assertThat(ResourceConsistency.problems(resources)).isEmpty();
    return resources;
  }

  private static XdsResources sidecar(String yaml) {
    return generate(shop().policies(yaml).build(), SIDECAR);
  }

  private static VirtualHost host(XdsResources resources, String name) {
    return resources.routes().get(SidecarOutbound.ROUTES).getVirtualHostsList().stream()
        .filter(h -> h.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no virtual host " + name));
  }

  private static Listener outbound(XdsResources resources) {
    return resources.listeners().get(SidecarOutbound.LISTENER);
  }

  private static FilterChain chain(XdsResources resources, String name) {
    return outbound(resources).getFilterChainsList().stream()
        .filter(c -> c.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no chain " + name));
  }

  private static String tcpCluster(FilterChain chain) throws InvalidProtocolBufferException {
    return chain.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster();
  }

  private static UpstreamTlsContext tls(Cluster cluster) throws InvalidProtocolBufferException {
    assertThat(cluster.hasTransportSocket()).as(cluster.getName() + " has TLS").isTrue();
    return cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }

  private static List<String> addresses(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream()
        .flatMap(l -> l.getLbEndpointsList().stream())
        .map(
            e ->
                e.getEndpoint().getAddress().getSocketAddress().getAddress()
                    + ":"
                    + e.getEndpoint().getAddress().getSocketAddress().getPortValue())
        .toList();
  }

  @Test
  void aStaticEntryIsAnEdsClusterOverItsEndpoints() {
    XdsResources resources =
        sidecar(
            entry(
                "billing",
                """
                hosts: [billing.vms.example.com]
                resolution: STATIC
                ports:
                - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
                endpoints:
                - {address: 192.0.2.10, locality: us-east/us-east-a, weight: 3}
                - {address: 192.0.2.11, ports: {http: 9090}, locality: us-west/us-west-a}
                """));

    String name = "outbound|80||billing.vms.example.com";
    Cluster cluster = resources.clusters().get(name);
    assertThat(cluster.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(cluster.getEdsClusterConfig().getServiceName()).isEqualTo(name);
    // MESH_EXTERNAL: the application's own bytes, no mesh certificate.
    assertThat(cluster.hasTransportSocket()).isFalse();
    // The entry's endpoints, on their own port or the target port, closest locality first.
    ClusterLoadAssignment assignment = resources.endpoints().get(name);
    assertThat(addresses(assignment)).containsExactly("192.0.2.10:8080", "192.0.2.11:9090");
    assertThat(assignment.getEndpoints(0).getPriority()).isZero();
    assertThat(assignment.getEndpoints(0).getLoadBalancingWeight().getValue()).isEqualTo(3);
    assertThat(assignment.getEndpoints(1).getPriority()).isEqualTo(1);

    VirtualHost host = host(resources, "billing.vms.example.com:80");
    assertThat(host.getDomainsList())
        .containsExactly("billing.vms.example.com:80", "billing.vms.example.com");
    Route route = host.getRoutes(1);
    assertThat(route.getName()).isEqualTo("default");
    assertThat(route.getRoute().getCluster()).isEqualTo(name);
    assertThat(route.getRoute().getRetryPolicy()).isEqualTo(TrafficDefaults.sidecarRetries());
  }

  @Test
  void dnsEntriesAreStrictDnsOrLogicalDnsClustersOfTheirNames() {
    XdsResources resources =
        sidecar(
            entry(
                    "httpbin",
                    """
                    hosts: [httpbin.org]
                    resolution: DNS
                    ports: [{number: 80, name: http, protocol: HTTP}]
                    """)
                + entry(
                    "mirrors",
                    """
                    hosts: [mirror.example.com]
                    resolution: DNS
                    ports: [{number: 8080, name: http, protocol: HTTP}]
                    endpoints:
                    - {address: us.mirror.example.com, labels: {region: us}}
                    - {address: eu.mirror.example.com, labels: {region: eu}}
                    """)
                + entry(
                    "api",
                    """
                    hosts: [api.example.com]
                    resolution: DNS_ROUND_ROBIN
                    ports: [{number: 443, name: https, protocol: HTTPS}]
                    """));

    Cluster httpbin = resources.clusters().get("outbound|80||httpbin.org");
    assertThat(httpbin.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(httpbin.hasEdsClusterConfig()).isFalse();
    assertThat(httpbin.getDnsRefreshRate()).isEqualTo(Durations.fromSeconds(5));
    assertThat(httpbin.getDnsLookupFamily()).isEqualTo(Cluster.DnsLookupFamily.V4_PREFERRED);
    // Without endpoints the host itself is resolved.
    assertThat(addresses(httpbin.getLoadAssignment())).containsExactly("httpbin.org:80");
    assertThat(resources.endpoints()).doesNotContainKey("outbound|80||httpbin.org");

    Cluster mirrors = resources.clusters().get("outbound|8080||mirror.example.com");
    assertThat(addresses(mirrors.getLoadAssignment()))
        .containsExactly("us.mirror.example.com:8080", "eu.mirror.example.com:8080");

    Cluster api = resources.clusters().get("outbound|443||api.example.com");
    assertThat(api.getType()).isEqualTo(Cluster.DiscoveryType.LOGICAL_DNS);
    assertThat(addresses(api.getLoadAssignment())).containsExactly("api.example.com:443");
  }

  @Test
  void resolutionNoneIsAnOriginalDestinationCluster() {
    XdsResources resources =
        sidecar(
            entry(
                "google",
                """
                hosts: ["*.googleapis.com"]
                ports: [{number: 443, name: tls, protocol: TLS}]
                """));

    Cluster cluster = resources.clusters().get("outbound|443||*.googleapis.com");
    assertThat(cluster.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    assertThat(cluster.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
    assertThat(cluster.hasOutlierDetection()).isFalse();
  }

  @Test
  void tlsPortsAreChainsBySniAndTcpPortsByAddress() throws Exception {
    XdsResources resources =
        sidecar(
            entry(
                    "api",
                    """
                    hosts: [api.example.com]
                    resolution: DNS
                    ports: [{number: 443, name: https, protocol: HTTPS}]
                    """)
                + entry(
                    "db",
                    """
                    hosts: [db.example.com]
                    resolution: STATIC
                    addresses: [240.0.0.10, 10.20.0.0/16]
                    ports: [{number: 5432, name: pg, protocol: TCP}]
                    endpoints: [{address: 192.0.2.50}]
                    """)
                + entry(
                    "anything-on-3306",
                    """
                    hosts: [mysql.example.com, mysql2.example.com]
                    ports: [{number: 3306, name: mysql, protocol: TCP}]
                    """));

    Listener listener = outbound(resources);
    assertThat(listener.getListenerFiltersList())
        .extracting(ListenerFilter::getName)
        .contains("envoy.filters.listener.tls_inspector");

    FilterChain https = chain(resources, "outbound|443||api.example.com");
    assertThat(https.getFilterChainMatch().getServerNamesList()).containsExactly("api.example.com");
    assertThat(https.getFilterChainMatch().getTransportProtocol()).isEqualTo("tls");
    assertThat(https.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(443);
    assertThat(tcpCluster(https)).isEqualTo("outbound|443||api.example.com");
    // HTTPS stays reachable through the explicit proxy too: CONNECT api.example.com:443.
    VirtualHost connect = host(resources, "api.example.com:443");
    assertThat(connect.getDomainsList()).containsExactly("api.example.com:443");
    assertThat(connect.getRoutesList()).extracting(Route::getName).containsExactly("connect");

    FilterChain db = chain(resources, "outbound|5432||db.example.com");
    assertThat(db.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(5432);
    assertThat(db.getFilterChainMatch().getPrefixRangesList())
        .extracting(r -> r.getAddressPrefix() + "/" + r.getPrefixLen().getValue())
        .containsExactly("240.0.0.10/32", "10.20.0.0/16");
    assertThat(tcpCluster(db)).isEqualTo("outbound|5432||db.example.com");

    // NONE without addresses: the port alone, once, to where the application connected.
    FilterChain mysql = chain(resources, "outbound|3306||mysql.example.com");
    assertThat(mysql.getFilterChainMatch().getPrefixRangesList()).isEmpty();
    assertThat(mysql.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(3306);
    assertThat(listener.getFilterChainsList())
        .extracting(FilterChain::getName)
        .doesNotContain("outbound|3306||mysql2.example.com");
    assertThat(resources.clusters().get("outbound|3306||mysql2.example.com").getType())
        .isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
  }

  @Test
  void destinationRuleSimpleOriginatesTlsCheckedAgainstTheSystemRoots() throws Exception {
    XdsResources resources =
        sidecar(
            entry(
                    "httpbin",
                    """
                    hosts: [httpbin.org]
                    resolution: DNS
                    ports: [{number: 80, name: http, protocol: HTTP, targetPort: 443}]
                    """)
                + simple("httpbin.org", "{mode: SIMPLE}"));

    Cluster cluster = resources.clusters().get("outbound|80||httpbin.org");
    UpstreamTlsContext tls = tls(cluster);
    assertThat(tls.getSni()).isEqualTo("httpbin.org");
    CertificateValidationContext validation = tls.getCommonTlsContext().getValidationContext();
    assertThat(validation.hasSystemRootCerts()).isTrue();
    assertThat(validation.hasTrustedCa()).isFalse();
    assertThat(validation.getMatchTypedSubjectAltNamesList())
        .containsExactly(
            SubjectAltNameMatcher.newBuilder()
                .setSanType(SubjectAltNameMatcher.SanType.DNS)
                .setMatcher(
                    io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder()
                        .setExact("httpbin.org"))
                .build());
    // No client certificate: this is not the mesh's mutual TLS.
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsList()).isEmpty();
    assertThat(tls.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("http/1.1");
    assertThat(addresses(cluster.getLoadAssignment())).containsExactly("httpbin.org:443");
  }

  @Test
  void simpleTakesTheRulesSniNamesAndRootsThenTheEntrysNames() throws Exception {
    XdsResources resources =
        sidecar(
            entry(
                    "api",
                    """
                    hosts: [api.example.com, legacy.example.com]
                    resolution: DNS
                    ports: [{number: 80, name: http, protocol: HTTP}]
                    subjectAltNames: [edge.example.com]
                    """)
                + simple(
                    "api.example.com",
                    "{mode: SIMPLE, sni: edge.example.com, subjectAltNames: [edge.example.com,"
                        + " edge2.example.com], caCertificates: /etc/fedmesh/partner-ca.pem}")
                + simple("legacy.example.com", "{mode: SIMPLE}"));

    UpstreamTlsContext api = tls(resources.clusters().get("outbound|80||api.example.com"));
    assertThat(api.getSni()).isEqualTo("edge.example.com");
    CertificateValidationContext validation = api.getCommonTlsContext().getValidationContext();
    assertThat(validation.getTrustedCa().getFilename()).isEqualTo("/etc/fedmesh/partner-ca.pem");
    assertThat(validation.getMatchTypedSubjectAltNamesList())
        .extracting(m -> m.getMatcher().getExact())
        .containsExactly("edge.example.com", "edge2.example.com");

    UpstreamTlsContext legacy = tls(resources.clusters().get("outbound|80||legacy.example.com"));
    assertThat(legacy.getSni()).isEqualTo("legacy.example.com");
    assertThat(
            legacy.getCommonTlsContext().getValidationContext().getMatchTypedSubjectAltNamesList())
        .extracting(m -> m.getMatcher().getExact())
        .containsExactly("edge.example.com");
  }

  @Test
  void meshInternalHostsTakeTheMeshsMutualTlsWithTheirIdentities() throws Exception {
    XdsResources resources =
        sidecar(
            entry(
                    "vm",
                    """
                    hosts: [billing.vm.internal]
                    location: MESH_INTERNAL
                    resolution: STATIC
                    ports: [{number: 8080, name: http, protocol: HTTP}]
                    endpoints: [{address: 192.0.2.20, serviceAccount: billing-vm}]
                    subjectAltNames: ["spiffe://fedmesh.local/ns/vms/sa/billing"]
                    """)
                + entry(
                    "legacy",
                    """
                    hosts: [legacy.vm.internal]
                    location: MESH_INTERNAL
                    resolution: STATIC
                    ports: [{number: 8080, name: http, protocol: HTTP}]
                    endpoints: [{address: 192.0.2.21}]
                    """)
                + simple("legacy.vm.internal", "{mode: DISABLE}"));

    UpstreamTlsContext mtls = tls(resources.clusters().get("outbound|8080||billing.vm.internal"));
    assertThat(mtls.getSni()).isEqualTo("outbound_.8080_._.billing.vm.internal");
    assertThat(mtls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo(MeshTls.WORKLOAD_SECRET);
    assertThat(
            mtls.getCommonTlsContext()
                .getCombinedValidationContext()
                .getDefaultValidationContext()
                .getMatchTypedSubjectAltNamesList())
        .extracting(m -> m.getMatcher().getExact())
        .containsExactly(
            "spiffe://fedmesh.local/ns/egress/sa/billing-vm",
            "spiffe://fedmesh.local/ns/vms/sa/billing");
    assertThat(resources.clusters().get("outbound|8080||legacy.vm.internal").hasTransportSocket())
        .isFalse();
  }

  @Test
  void virtualServicesRouteServiceEntryHostsAndMeshServicesRouteToThem() {
    XdsResources resources =
        sidecar(
            entry(
                    "httpbin",
                    """
                    hosts: [httpbin.org]
                    resolution: DNS
                    ports: [{number: 80, name: http, protocol: HTTP}]
                    """)
                + entry(
                    "backup",
                    """
                    hosts: [backup.example.com]
                    resolution: DNS
                    ports: [{number: 8080, name: http, protocol: HTTP}]
                    """)
                + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: httpbin, namespace: egress}
                spec:
                  hosts: [httpbin.org]
                  http:
                  - timeout: 3s
                    retries: {attempts: 3, retryOn: 5xx}
                    route:
                    - destination: {host: httpbin.org}
                      weight: 80
                    - destination: {host: backup.example.com}
                      weight: 20
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: checkout, namespace: shop}
                spec:
                  hosts: [checkout]
                  http:
                  - match: [{uri: {prefix: /legacy}}]
                    route:
                    - destination: {host: backup.example.com, port: {number: 8080}}
                  - route:
                    - destination: {host: checkout}
                """);

    Route httpbin = host(resources, "httpbin.org:80").getRoutes(1);
    assertThat(httpbin.getRoute().getTimeout()).isEqualTo(Durations.fromSeconds(3));
    assertThat(httpbin.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(3);
    // A destination without a port on an entry of one port goes to that port.
    assertThat(httpbin.getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
        .containsExactly("outbound|80||httpbin.org=80", "outbound|8080||backup.example.com=20");

    Route legacy = host(resources, "checkout.shop.svc.cluster.local:8080").getRoutes(1);
    assertThat(legacy.getRoute().getCluster()).isEqualTo("outbound|8080||backup.example.com");
  }

  @Test
  void subsetsOfAnEntrysRuleSelectItsEndpointsByLabel() {
    XdsResources resources =
        sidecar(
            entry(
                    "vms",
                    """
                    hosts: [app.vms.example.com]
                    resolution: STATIC
                    ports: [{number: 80, name: http, protocol: HTTP}]
                    endpoints:
                    - {address: 192.0.2.1, labels: {version: v1}}
                    - {address: 192.0.2.2, labels: {version: v2}}
                    """)
                + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: app, namespace: egress}
                spec:
                  host: app.vms.example.com
                  subsets:
                  - {name: v2, labels: {version: v2}}
                """);

    assertThat(addresses(resources.endpoints().get("outbound|80|v2|app.vms.example.com")))
        .containsExactly("192.0.2.2:80");
    assertThat(addresses(resources.endpoints().get("outbound|80||app.vms.example.com")))
        .containsExactly("192.0.2.1:80", "192.0.2.2:80");
  }

  @Test
  void underRegistryOnlyServiceEntryHostsAreWhatStaysReachable() {
    String policies =
        """
        apiVersion: fedmesh.dev/v1alpha1
        kind: MeshConfig
        metadata: {name: default}
        spec:
          outboundTrafficPolicy: {mode: REGISTRY_ONLY}
        ---
        """
            + entry(
                "httpbin",
                """
                hosts: [httpbin.org]
                resolution: DNS
                ports: [{number: 80, name: http, protocol: HTTP}]
                """)
            + entry(
                "api",
                """
                hosts: [api.example.com]
                resolution: DNS
                ports: [{number: 443, name: https, protocol: HTTPS}]
                """);
    XdsResources without = generate(shop().build(), SIDECAR);
    XdsResources with = sidecar(policies);

    Listener listener = outbound(with);
    assertThat(listener.getDefaultFilterChain().getName()).isEqualTo(XdsNames.BLACKHOLE_CLUSTER);
    assertThat(with.clusters()).containsKey(XdsNames.BLACKHOLE_CLUSTER);
    assertThat(with.clusters()).doesNotContainKey(XdsNames.PASSTHROUGH_CLUSTER);
    // What a caller can name: the mesh's services and exactly the entries' hosts and ports.
    TreeSet<String> added = domains(with);
    added.removeAll(domains(without));
    assertThat(added).containsExactly("api.example.com:443", "httpbin.org", "httpbin.org:80");
    // Intercepted TLS to the entry's host by its SNI; everything else falls to the black hole.
    assertThat(listener.getFilterChainsList())
        .extracting(FilterChain::getName)
        .containsExactly("outbound|443||api.example.com", "http");
  }

  private static TreeSet<String> domains(XdsResources resources) {
    TreeSet<String> domains = new TreeSet<>();
    resources
        .routes()
        .get(SidecarOutbound.ROUTES)
        .getVirtualHostsList()
        .forEach(h -> domains.addAll(h.getDomainsList()));
    return domains;
  }

  @Test
  void grpcClientsGetTheGrpcPortsOfStaticAndRoundRobinEntries() {
    XdsResources resources =
        generate(
            shop()
                .policies(
                    entry(
                            "grpc",
                            """
                            hosts: [pricing.partner.example.com]
                            resolution: STATIC
                            ports: [{number: 9090, name: grpc, protocol: GRPC}]
                            endpoints: [{address: 192.0.2.30}]
                            """)
                        + entry(
                            "web",
                            """
                            hosts: [web.partner.example.com]
                            resolution: DNS
                            ports: [{number: 80, name: http, protocol: HTTP}]
                            """))
                .build(),
            GRPC_CLIENT);

    String hostPort = "pricing.partner.example.com:9090";
    assertThat(resources.listeners()).containsKey(hostPort);
    assertThat(resources.routes().get(hostPort).getVirtualHosts(0).getDomainsList())
        .containsExactly(hostPort, "pricing.partner.example.com");
    Cluster cluster = resources.clusters().get("outbound|9090||pricing.partner.example.com");
    assertThat(cluster.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(cluster.hasTransportSocket()).isFalse();
    assertThat(resources.endpoints().get("outbound|9090||pricing.partner.example.com"))
        .extracting(a -> a.getEndpoints(0).getLbEndpointsList())
        .asList()
        .extracting(e -> ((LbEndpoint) e).getLoadBalancingWeight().getValue())
        .containsExactly(1);
    assertThat(resources.listeners()).doesNotContainKey("web.partner.example.com:80");
  }

  @Test
  void thePolicyExamplesMakeConsistentConfig() throws Exception {
    StringBuilder all = new StringBuilder();
    try (var files =
        java.nio.file.Files.newDirectoryStream(
            java.nio.file.Path.of("..", "docs", "examples", "policies"), "*.yaml")) {
      for (java.nio.file.Path file : files) {
        all.append(java.nio.file.Files.readString(file)).append("\n---\n");
      }
    }
    MeshSnapshot mesh = shop().policies(all.toString()).build();

    XdsResources sidecar = generate(mesh, SIDECAR);
    generate(mesh, GRPC_CLIENT);
    assertThat(sidecar.clusters())
        .containsKeys(
            "outbound|80||httpbin.org",
            "outbound|443||*.googleapis.com",
            "outbound|443||api.github.com",
            "outbound|5432||warehouse-db.corp.example.com",
            "outbound|8080||billing.vms.corp.example.com");
    // The example's VirtualService names httpbin.org, which a policy reads as a name of two
    // labels; it routes the entry's host all the same, and its DestinationRule originates TLS.
    Route httpbin = host(sidecar, "httpbin.org:80").getRoutes(1);
    assertThat(httpbin.getRoute().getTimeout()).isEqualTo(Durations.fromSeconds(5));
    assertThat(tls(sidecar.clusters().get("outbound|80||httpbin.org")).getSni())
        .isEqualTo("httpbin.org");
  }
}
