package dev.fedmesh.model.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.Locality;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** ServiceEntry documents: what is read, what is refused, and conflicts between entries. */
class ServiceEntryTest {
  private static String entry(String name, String spec) {
    return "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: "
        + name
        + ", namespace: shop}\nspec:\n"
        + spec.indent(2);
  }

  private static List<String> messages(String spec) {
    return PolicyDocuments.read("se.yaml", entry("external", spec)).errors().stream()
        .map(PolicyError::toString)
        .toList();
  }

  private static ServiceEntry read(String spec) {
    PolicyDocuments.Result result = PolicyDocuments.read("se.yaml", entry("external", spec));
    assertThat(result.errors()).isEmpty();
    return (ServiceEntry) result.policies().get(0);
  }

  @Test
  void aDnsEntryWithEndpointsIsReadWithEveryField() {
    ServiceEntry entry =
        read(
            """
            hosts: [API.Example.com]
            location: MESH_EXTERNAL
            resolution: DNS
            ports:
            - {number: 443, name: https, protocol: https}
            - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
            endpoints:
            - address: us.api.example.com
              ports: {https: 8443}
              labels: {region: us}
              locality: us-east/us-east-a
              weight: 3
            - address: 192.0.2.10
            exportTo: ["*"]
            subjectAltNames: [api.example.com]
            """);

    assertThat(entry.id()).isEqualTo("ServiceEntry/shop/external");
    assertThat(entry.hosts()).containsExactly("api.example.com");
    assertThat(entry.resolution()).isEqualTo(ServiceEntry.Resolution.DNS);
    assertThat(entry.location()).isEqualTo(ServiceEntry.Location.MESH_EXTERNAL);
    assertThat(entry.ports())
        .containsExactly(
            new ServiceEntry.Port(
                443, ServiceEntry.PortProtocol.HTTPS, "https", OptionalInt.empty()),
            new ServiceEntry.Port(
                80, ServiceEntry.PortProtocol.HTTP, "http", OptionalInt.of(8080)));
    ServiceEntry.WorkloadEntry us = entry.endpoints().get(0);
    assertThat(us.ports()).isEqualTo(Map.of("https", 8443));
    assertThat(us.locality()).isEqualTo(Locality.of("us-east", "us-east-a"));
    assertThat(us.weight()).isEqualTo(3);
    assertThat(entry.endpoints().get(1).weight()).isEqualTo(1);
    // An endpoint's own port, else the port's target, else its number.
    assertThat(ServiceEntry.targetPort(us, entry.port(443).orElseThrow())).isEqualTo(8443);
    assertThat(ServiceEntry.targetPort(us, entry.port(80).orElseThrow())).isEqualTo(8080);
    assertThat(entry.subjectAltNames()).containsExactly("api.example.com");
  }

  @Test
  void resolutionIsNoneAndLocationExternalWhenNotWritten() {
    ServiceEntry entry =
        read(
            """
            hosts: ["*.googleapis.com"]
            ports: [{number: 443, name: tls, protocol: TLS}]
            """);

    assertThat(entry.resolution()).isEqualTo(ServiceEntry.Resolution.NONE);
    assertThat(entry.location()).isEqualTo(ServiceEntry.Location.MESH_EXTERNAL);
    assertThat(entry.declared("storage.googleapis.com")).hasValue("*.googleapis.com");
    assertThat(entry.declared("googleapis.com")).isEmpty();
  }

  @Test
  void hostsMustBeFullyQualifiedAndOutsideTheMeshsDomain() {
    assertThat(
            messages(
                """
                hosts: [api, "*", "*api.example.com", reviews.shop.svc.cluster.local, a.example.com, a.example.com]
                ports: [{number: 80, name: http, protocol: HTTP}]
                """))
        .containsExactly(
            "se.yaml:1: spec.hosts[0]: 'api' (expected: a fully qualified name such as"
                + " api.example.com, or *.example.com)",
            "se.yaml:1: spec.hosts[1]: '*' (expected: a fully qualified name such as"
                + " api.example.com, or *.example.com)",
            "se.yaml:1: spec.hosts[2]: '*api.example.com' (expected: a fully qualified name such as"
                + " api.example.com, or *.example.com)",
            "se.yaml:1: spec.hosts[3]: 'reviews.shop.svc.cluster.local' is a name of the mesh's own"
                + " services (expected: a host outside svc.cluster.local; the mesh finds its"
                + " services' endpoints itself)",
            "se.yaml:1: spec.hosts[5]: 'a.example.com' (expected: each host once)");
  }

  @Test
  void wildcardsOnlyWithResolutionNone() {
    assertThat(
            messages(
                """
                hosts: ["*.example.com"]
                resolution: DNS
                ports: [{number: 443, name: https, protocol: HTTPS}]
                """))
        .containsExactly(
            "se.yaml:1: spec.hosts[0]: '*.example.com' with resolution DNS (expected: a wildcard"
                + " host only with resolution NONE: a wildcard names no endpoint to resolve)");
  }

  @Test
  void staticNeedsEndpointsWithIpAddresses() {
    assertThat(
            messages(
                """
                hosts: [db.example.com]
                resolution: STATIC
                ports: [{number: 5432, name: tcp, protocol: TCP}]
                addresses: [240.0.0.1]
                endpoints: [{address: db1.example.com}, {address: "unix:///var/run/db.sock"}]
                """))
        .containsExactly(
            "se.yaml:1: spec.endpoints[0].address: 'db1.example.com' (expected: an IP address with"
                + " resolution STATIC; resolution DNS for names)",
            "se.yaml:1: spec.endpoints[1].address: 'unix:///var/run/db.sock' not supported (unix"
                + " domain sockets)");
    assertThat(
            messages(
                """
                hosts: [db.example.com]
                resolution: STATIC
                ports: [{number: 80, name: http, protocol: HTTP}]
                """))
        .containsExactly(
            "se.yaml:1: spec.endpoints: missing (expected: at least one endpoint with an IP address"
                + " for resolution STATIC)");
  }

  @Test
  void noneTakesNoEndpointsAndNoTargetPort() {
    assertThat(
            messages(
                """
                hosts: [api.example.com]
                ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
                endpoints: [{address: 192.0.2.1}]
                """))
        .containsExactly(
            "se.yaml:1: spec.ports[0].targetPort: 8080 with resolution NONE (expected: none;"
                + " connections go on to the port the application chose)",
            "se.yaml:1: spec.endpoints: set with resolution NONE (expected: none; connections go"
                + " where the application sent them; resolution STATIC or DNS for endpoints of your"
                + " own)");
  }

  @Test
  void aTcpPortNeedsAddressesOrResolutionNone() {
    assertThat(
            messages(
                """
                hosts: [db.example.com]
                resolution: DNS
                ports: [{number: 5432, name: postgres, protocol: TCP}]
                """))
        .containsExactly(
            "se.yaml:1: spec.ports[0].protocol: TCP on an entry without addresses (expected:"
                + " addresses, or resolution NONE; a TCP port needs addresses or resolution NONE: a"
                + " plain TCP connection names no host, so the sidecar tells it apart only by its"
                + " destination address)");
    read(
        """
        hosts: [db.example.com]
        resolution: DNS
        addresses: [240.0.0.2]
        ports: [{number: 5432, name: postgres, protocol: TCP}]
        """);
    read(
        """
        hosts: [db.example.com]
        ports: [{number: 5432, name: postgres, protocol: TCP}]
        """);
  }

  @Test
  void cidrsOnlyWithNoneOrStatic() {
    assertThat(
            messages(
                """
                hosts: [db.example.com]
                resolution: DNS
                addresses: [10.0.0.0/24, 10.0.1.1, not-an-ip, 10.0.2.0/99]
                ports: [{number: 5432, name: postgres, protocol: TCP}]
                """))
        .containsExactly(
            "se.yaml:1: spec.addresses[0]: '10.0.0.0/24' with resolution DNS (expected: CIDR ranges"
                + " only with resolution NONE or STATIC; one address with DNS)",
            "se.yaml:1: spec.addresses[2]: 'not-an-ip' (expected: an IP address or a CIDR range"
                + " such as 240.0.0.0/16)",
            "se.yaml:1: spec.addresses[3]: '10.0.2.0/99' (expected: a prefix length of 0 to 32)");
  }

  @Test
  void portsAreUniqueWithKnownProtocols() {
    assertThat(
            messages(
                """
                hosts: [api.example.com]
                ports:
                - {number: 80, name: http, protocol: HTTP}
                - {number: 80, name: http, protocol: MONGO}
                - {number: 81, name: web, protocol: SOAP}
                - {name: nothing, protocol: TCP}
                """))
        .containsExactly(
            "se.yaml:1: spec.ports[1].number: 80 (expected: each port number once)",
            "se.yaml:1: spec.ports[1].protocol: 'MONGO' not supported (expected: HTTP, HTTP2, GRPC,"
                + " TCP, TLS or HTTPS)",
            "se.yaml:1: spec.ports[1].name: 'http' (expected: each port name once)",
            "se.yaml:1: spec.ports[2].protocol: 'SOAP' (expected: HTTP, HTTP2, GRPC, TCP, TLS or"
                + " HTTPS)",
            "se.yaml:1: spec.ports[3].number: missing (expected: a port number)");
  }

  @Test
  void whatFedmeshDoesNotEnforceIsRefusedByName() {
    assertThat(
            messages(
                """
                hosts: [vm.example.com]
                resolution: STATIC
                ports: [{number: 80, name: http, protocol: HTTP}]
                endpoints:
                - {address: 192.0.2.1, network: vm-net, ports: {grpc: 9000}}
                - {address: 192.0.2.2, locality: "/zone"}
                workloadSelector: {labels: {app: vm}}
                exportTo: ["."]
                """))
        .containsExactly(
            "se.yaml:1: spec.endpoints[0].ports.grpc: no port is named 'grpc' (expected: one of"
                + " [http])",
            "se.yaml:1: spec.endpoints[0].network: 'vm-net' not supported (expected: none;"
                + " endpoints of other networks are reached through mesh clusters' east-west"
                + " gateways, which serve mesh services only)",
            "se.yaml:1: spec.endpoints[1].locality: '/zone' (expected: region, region/zone or"
                + " region/zone/subzone)",
            "se.yaml:1: spec.exportTo[0]: '.' not supported (expected: *; fedmesh applies a policy"
                + " in every namespace and cluster)",
            "se.yaml:1: spec.workloadSelector: not supported (endpoints come from the entry's own"
                + " endpoints; WorkloadEntry is not supported)");
  }

  @Test
  void roundRobinTakesOneEndpoint() {
    assertThat(
            messages(
                """
                hosts: [api.example.com]
                resolution: DNS_ROUND_ROBIN
                ports: [{number: 443, name: https, protocol: HTTPS}]
                endpoints: [{address: a.example.com}, {address: b.example.com}]
                """))
        .containsExactly(
            "se.yaml:1: spec.endpoints: 2 endpoints (expected: at most one with DNS_ROUND_ROBIN,"
                + " whose name is resolved for each connection; DNS for several)");
  }

  @Test
  void theKindHasIstiosNames() {
    assertThat(PolicyKind.named("se")).hasValue(PolicyKind.SERVICE_ENTRY);
    assertThat(PolicyKind.named("serviceentries")).hasValue(PolicyKind.SERVICE_ENTRY);
    assertThat(PolicyKind.SERVICE_ENTRY.plural()).isEqualTo("serviceentries");
    assertThat(PolicyKind.SERVICE_ENTRY.apiVersions())
        .containsExactly(
            "networking.istio.io/v1",
            "networking.istio.io/v1beta1",
            "networking.istio.io/v1alpha3");
    for (String version : PolicyKind.SERVICE_ENTRY.apiVersions()) {
      String yaml =
          entry(
                  "external",
                  "hosts: [a.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]")
              .replace("networking.istio.io/v1", version);
      assertThat(PolicyDocuments.read("se.yaml", yaml).errors()).isEmpty();
    }
  }

  @Test
  void oneHostAndPortIsDeclaredOnceInTheMesh() {
    String yaml =
        entry("a", "hosts: [api.example.com]\nports: [{number: 443, name: https, protocol: HTTPS}]")
            + "---\n"
            + entry(
                    "b",
                    "hosts: [api.example.com]\n"
                        + "ports: [{number: 443, name: https, protocol: HTTPS}]")
                .replace("namespace: shop", "namespace: other")
            + "---\n"
            + entry(
                "c", "hosts: [api.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]");
    PolicySet set = PolicySet.of(PolicyDocuments.read("se.yaml", yaml).policies());

    assertThat(set.check(false))
        .extracting(c -> c.policy().id() + " " + c.path() + ": " + c.message())
        .containsExactly(
            "ServiceEntry/shop/a spec.hosts[0]: 'api.example.com' port 443 is already declared by"
                + " ServiceEntry/other/b (expected: one ServiceEntry per host and port in the mesh;"
                + " every entry is visible in every namespace, and both would define cluster"
                + " outbound|443||api.example.com)");
  }

  @Test
  void oneAddressAndTcpPortIsDeclaredOnce() {
    String yaml =
        entry(
                "a",
                "hosts: [a.example.com]\naddresses: [240.0.0.1]\n"
                    + "ports: [{number: 5432, name: pg, protocol: TCP}]")
            + "---\n"
            + entry(
                "b",
                "hosts: [b.example.com]\naddresses: [240.0.0.1]\n"
                    + "ports: [{number: 5432, name: pg, protocol: TCP}]");
    PolicySet set = PolicySet.of(PolicyDocuments.read("se.yaml", yaml).policies());

    assertThat(set.check(false, id -> id.endsWith("/b")))
        .extracting(c -> c.policy().id() + " " + c.path())
        .containsExactly("ServiceEntry/shop/b spec.addresses[0]");
  }

  @Test
  void theEntryOfAHostIsFoundByItsNameOrAWildcard() {
    String yaml =
        entry("exact", "hosts: [httpbin.org]\nports: [{number: 80, name: http, protocol: HTTP}]")
            + "---\n"
            + entry(
                "wild",
                "hosts: [\"*.example.com\"]\nports: [{number: 80, name: http, protocol: HTTP}]")
            + "---\n"
            + """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: httpbin, namespace: shop}
            spec:
              host: httpbin.org
              trafficPolicy: {tls: {mode: SIMPLE, caCertificates: /etc/ssl/httpbin.pem}}
            """;
    PolicySet set = PolicySet.of(PolicyDocuments.read("se.yaml", yaml).policies());

    assertThat(set.serviceEntryFor("api.example.com").map(Policy::id))
        .hasValue("ServiceEntry/shop/wild");
    assertThat(set.serviceEntryFor("httpbin.org").map(Policy::id))
        .hasValue("ServiceEntry/shop/exact");
    // A two-label name in a VirtualService or DestinationRule is completed to the cluster domain
    // (as service httpbin of namespace org); both forms find the entry and the rule.
    assertThat(set.serviceEntryFor("httpbin.org.svc.cluster.local").map(Policy::id))
        .hasValue("ServiceEntry/shop/exact");
    assertThat(set.destinationRuleFor("httpbin.org").map(Policy::id))
        .hasValue("DestinationRule/shop/httpbin");
    assertThat(set.destinationRuleFor("httpbin.org").orElseThrow().trafficPolicy())
        .hasValueSatisfying(
            p ->
                assertThat(p.tls().orElseThrow().caCertificates())
                    .isEqualTo("/etc/ssl/httpbin.pem"));
    assertThat(set.serviceEntryFor("other.org")).isEmpty();
  }

  @Test
  void caCertificatesIsAnAbsolutePathForSimpleOnly() {
    String rule =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api, namespace: shop}
        spec:
          host: api.example.com
          trafficPolicy:
            tls: {mode: %s, caCertificates: %s}
        """;
    assertThat(PolicyDocuments.read("dr.yaml", rule.formatted("SIMPLE", "certs/ca.pem")).errors())
        .extracting(PolicyError::toString)
        .containsExactly(
            "dr.yaml:1: spec.trafficPolicy.tls.caCertificates: 'certs/ca.pem' (expected: the"
                + " absolute path of a PEM file on the proxy's host)");
    assertThat(
            PolicyDocuments.read("dr.yaml", rule.formatted("ISTIO_MUTUAL", "/etc/ca.pem")).errors())
        .extracting(PolicyError::toString)
        .containsExactly(
            "dr.yaml:1: spec.trafficPolicy.tls.caCertificates: set with mode ISTIO_MUTUAL"
                + " (expected: only with SIMPLE; ISTIO_MUTUAL trusts the mesh's roots)");
  }
}
