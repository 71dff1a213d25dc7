package dev.fedmesh.agent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.InvalidMessageException;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointsFileTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality AGENT_LOCALITY = Locality.of("us-east", "us-east-a");

  @Test
  void validFileParsesToTheServicesItDescribes() throws InvalidMessageException {
    String yaml =
        """
        services:
          - name: echo
            exported: true
            ports:
              - {name: grpc, port: 7070, protocol: grpc}
              - {name: metrics, port: 9090}
            endpoints:
              - address: 10.0.0.1
                ports: {grpc: 50051}
                region: eu-west
                zone: eu-west-b
                ready: false
                labels: {version: v1}
                serviceAccount: echo
                weight: 3
                pod: echo-0
              - address: fd00::2
              - address: 10.0.0.3
                region: ap-south
          - name: db
            namespace: prod
            ports:
              - {port: 5432}
        """;

    Map<ServiceKey, ServiceEndpoints> services = EndpointsFile.parse(yaml, EAST, AGENT_LOCALITY);

    ServiceEndpoints echo =
        new ServiceEndpoints(
            EAST,
            ServiceKey.of("default", "echo"),
            List.of(
                new ServicePort("grpc", 7070, Protocol.GRPC),
                new ServicePort("metrics", 9090, Protocol.TCP)),
            true,
            List.of(
                new Endpoint(
                    "10.0.0.1",
                    Map.of("grpc", 50051),
                    Locality.of("eu-west", "eu-west-b"),
                    EndpointHealth.UNHEALTHY,
                    Map.of("version", "v1"),
                    "echo",
                    3,
                    "echo-0"),
                new Endpoint(
                    "fd00::2",
                    Map.of(),
                    AGENT_LOCALITY,
                    EndpointHealth.HEALTHY,
                    Map.of(),
                    "default",
                    1,
                    ""),
                new Endpoint(
                    "10.0.0.3",
                    Map.of(),
                    Locality.ofRegion("ap-south"),
                    EndpointHealth.HEALTHY,
                    Map.of(),
                    "default",
                    1,
                    "")));
    ServiceEndpoints db =
        new ServiceEndpoints(
            EAST,
            ServiceKey.of("prod", "db"),
            List.of(new ServicePort("port-5432", 5432, Protocol.TCP)),
            false,
            List.of());
    assertThat(services).isEqualTo(Map.of(echo.service(), echo, db.service(), db));
  }

  @Test
  void fileWithoutServicesAnnouncesNone() throws InvalidMessageException {
    assertThat(EndpointsFile.parse("services: []\n", EAST, AGENT_LOCALITY)).isEmpty();
  }

  @Test
  void portOutOfRangeIsRefusedWithItsPath() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    ports:
                      - {name: grpc, port: 70000}
                """))
        .containsExactly("services[0].ports[0].port: 70000 (expected: 1..65535)");
  }

  @Test
  void unknownProtocolIsRefusedListingTheKnownOnes() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    ports:
                      - {name: grpc, port: 7070, protocol: grcp}
                """))
        .containsExactly(
            "services[0].ports[0].protocol: 'grcp' (expected: one of tcp, http, http2, grpc, tls)");
  }

  @Test
  void endpointWithInvalidAddressIsRefused() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    endpoints:
                      - address: 10.0.0.1
                      - address: echo-1.local
                """))
        .containsExactly(
            "services[0].endpoints[1].address: 'echo-1.local' (expected: an IPv4 or IPv6 address)");
  }

  @Test
  void endpointWithoutAddressIsRefused() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    endpoints:
                      - region: us-west
                """))
        .containsExactly("services[0].endpoints[0].address: missing (expected: an IP address)");
  }

  @Test
  void endpointPortNamedAfterNoServicePortIsRefused() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    ports:
                      - {name: grpc, port: 7070}
                    endpoints:
                      - address: 10.0.0.1
                        ports: {http: 8080}
                """))
        .containsExactly(
            "services[0].endpoints[0].ports: 'http' (expected: one of the service's port names"
                + " [grpc])");
  }

  @Test
  void duplicateServiceIsRefused() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                  - name: echo
                    namespace: default
                """))
        .containsExactly("services[1].name: 'default/echo' (expected: unique in the file)");
  }

  @Test
  void sameNameInAnotherNamespaceIsAnotherService() throws InvalidMessageException {
    Map<ServiceKey, ServiceEndpoints> services =
        EndpointsFile.parse(
            """
            services:
              - name: echo
              - name: echo
                namespace: prod
            """,
            EAST,
            AGENT_LOCALITY);

    assertThat(services.keySet())
        .containsExactlyInAnyOrder(ServiceKey.of("default", "echo"), ServiceKey.of("prod", "echo"));
  }

  @Test
  void serviceWithoutNameIsRefused() {
    assertThat(
            problems(
                """
                services:
                  - namespace: prod
                """))
        .containsExactly("services[0].name: missing (expected: the service's name)");
  }

  @Test
  void misspelledFieldIsRefusedWithItsPath() {
    List<String> problems =
        problems(
            """
            services:
              - name: echo
                endpoints:
                  - adress: 10.0.0.1
            """);

    assertThat(problems)
        .containsExactly(
            "services[0].endpoints[0].adress: unknown field (expected: one of address, labels, pod,"
                + " ports, ready, region, serviceAccount, weight, zone)");
  }

  @Test
  void aZoneWithoutARegionIsRefused() {
    List<String> problems =
        problems(
            """
            services:
              - name: echo
                endpoints:
                  - {address: 10.0.0.1, zone: us-east-a}
            """);

    assertThat(problems)
        .containsExactly(
            "services[0].endpoints[0].zone: 'us-east-a' (expected: a region when a zone is given)");
  }

  @Test
  void valueOfTheWrongTypeIsRefusedWithItsPath() {
    List<String> problems =
        problems(
            """
            services:
              - name: echo
                ports:
                  - {name: grpc, port: seventy}
            """);

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0))
        .startsWith("services[0].ports[0].port: ")
        .contains("`int`")
        .contains("\"seventy\"");
  }

  @Test
  void emptyListItemIsRefusedWithItsPath() {
    List<String> problems =
        problems(
            """
            services:
              - name: echo
                endpoints:
                  -
            """);

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("services[0].endpoints[0]: ");
  }

  @Test
  void emptyMapValueIsRefusedWithItsPath() {
    List<String> problems =
        problems(
            """
            services:
              - name: echo
                endpoints:
                  - address: 10.0.0.1
                    labels: {version: }
            """);

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("services[0].endpoints[0].labels.version: ");
  }

  @Test
  void everyProblemInTheFileIsReported() {
    assertThat(
            problems(
                """
                services:
                  - name: echo
                    ports:
                      - {name: grpc, port: 0}
                      - {name: http, port: 8080, protocol: smtp}
                  - name: web
                    endpoints:
                      - address: 10.0.0.1
                  - name: Web
                  - name: db
                    endpoints:
                      - address: 1.2.3
                  - name: web
                """))
        .containsExactly(
            "services[0].ports[0].port: 0 (expected: 1..65535)",
            "services[0].ports[1].protocol: 'smtp' (expected: one of tcp, http, http2, grpc, tls)",
            "services[2].name: 'Web' (expected: a DNS label)",
            "services[3].endpoints[0].address: '1.2.3' (expected: an IPv4 or IPv6 address)",
            "services[4].name: 'default/web' (expected: unique in the file)");
  }

  private static List<String> problems(String yaml) {
    InvalidMessageException refused =
        catchThrowableOfType(
            InvalidMessageException.class, () -> EndpointsFile.parse(yaml, EAST, AGENT_LOCALITY));
    assertThat(refused).as("parse refuses the file").isNotNull();
    return refused.problems();
  }
}
