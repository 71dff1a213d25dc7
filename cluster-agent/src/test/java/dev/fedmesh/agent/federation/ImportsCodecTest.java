package dev.fedmesh.agent.federation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.federation.v1.ImportedService;
import dev.fedmesh.federation.v1.Protocol;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.federation.v1.ServicePort;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServiceKey;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each entry of the controller's import set stands or falls on its own, with every field named. */
class ImportsCodecTest {
  private static final ImportedService ECHO =
      ImportedService.newBuilder()
          .setNamespace("shop")
          .setName("echo")
          .addPorts(port("http", 8080, Protocol.HTTP))
          .addPorts(port("grpc", 7070, Protocol.GRPC))
          .addClusters("central")
          .addClusters("west")
          .addIps("10.96.0.20")
          .setVirtualAddress("240.240.0.7")
          .build();

  @Test
  void aValidEntryBecomesTheModelsImportedService() {
    ServiceImportSet set = decode(ECHO);

    assertThat(set.findings()).isEmpty();
    assertThat(set.invalid()).isEmpty();
    assertThat(set.services())
        .containsExactly(
            new dev.fedmesh.agent.federation.ImportedService(
                ServiceKey.of("shop", "echo"),
                List.of(
                    new dev.fedmesh.model.ServicePort(
                        "http", 8080, dev.fedmesh.model.Protocol.HTTP),
                    new dev.fedmesh.model.ServicePort(
                        "grpc", 7070, dev.fedmesh.model.Protocol.GRPC)),
                List.of(ClusterName.of("central"), ClusterName.of("west")),
                List.of("10.96.0.20"),
                "240.240.0.7"));
  }

  @Test
  void anUnspecifiedProtocolIsTcpAndNoIpsIsValid() {
    ServiceImportSet set =
        decode(
            ImportedService.newBuilder()
                .setNamespace("shop")
                .setName("db")
                .addPorts(ServicePort.newBuilder().setName("tcp-db").setPort(5432))
                .addClusters("west")
                .build());

    assertThat(set.findings()).isEmpty();
    assertThat(set.services().get(0).ports())
        .containsExactly(
            new dev.fedmesh.model.ServicePort("tcp-db", 5432, dev.fedmesh.model.Protocol.TCP));
    assertThat(set.services().get(0).ips()).isEmpty();
    assertThat(set.services().get(0).virtualAddress()).isEmpty();
  }

  @Test
  void anInvalidEntryIsLeftOutWithEveryBadFieldNamedAndTheRestIsKept() {
    ImportedService broken =
        ECHO.toBuilder()
            .setName("web")
            .setPorts(0, port("http", 0, Protocol.HTTP))
            .setPorts(
                1, ServicePort.newBuilder().setName("grpc").setPort(7070).setProtocolValue(99))
            .addPorts(port("http", 8081, Protocol.HTTP))
            .setClusters(1, "West_1")
            .setIps(0, "10.96.0.300")
            .addIps("db.example")
            .setVirtualAddress("vip")
            .build();

    ServiceImportSet set = decode(ECHO, broken);

    assertThat(set.services())
        .extracting(dev.fedmesh.agent.federation.ImportedService::service)
        .containsExactly(ServiceKey.of("shop", "echo"));
    assertThat(set.invalid()).containsExactly(ServiceKey.of("shop", "web"));
    assertThat(set.findings())
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.kind()).isEqualTo(Finding.IMPORT_INVALID);
              assertThat(finding.namespace()).isEqualTo("shop");
              assertThat(finding.name()).isEqualTo("web");
              assertThat(finding.message())
                  .contains("imports.services[1].ports[0].port: 0 (expected: 1..65535)")
                  .contains(
                      "imports.services[1].ports[1].protocol: 99 (expected: a known protocol)")
                  .contains(
                      "imports.services[1].ports[2].name: 'http' (expected: unique among the"
                          + " service's ports)")
                  .contains("imports.services[1].clusters[1]: 'West_1'")
                  .contains(
                      "imports.services[1].ips[0]: '10.96.0.300' (expected: an IPv4 or IPv6"
                          + " address)")
                  .contains("imports.services[1].ips[1]: 'db.example'")
                  .contains("imports.services[1].virtual_address: 'vip'");
            });
  }

  @Test
  void anEntryWithAnInvalidNameIsReportedUnderTheNameItWasSentWith() {
    ServiceImportSet set = decode(ECHO.toBuilder().setNamespace("Shop").build(), ECHO);

    assertThat(set.services()).hasSize(1);
    assertThat(set.invalid()).isEmpty();
    assertThat(set.findings())
        .singleElement()
        .satisfies(
            finding -> {
              assertThat(finding.namespace()).isEqualTo("Shop");
              assertThat(finding.message())
                  .contains("imports.services[0].namespace: 'Shop' (expected: a DNS label)");
            });
  }

  @Test
  void aServiceListedTwiceKeepsItsFirstEntry() {
    ServiceImportSet set = decode(ECHO, ECHO.toBuilder().setIps(0, "10.96.0.99").build());

    assertThat(set.services())
        .singleElement()
        .satisfies(s -> assertThat(s.ips()).containsExactly("10.96.0.20"));
    assertThat(set.findings())
        .singleElement()
        .satisfies(
            finding ->
                assertThat(finding.message())
                    .contains("imports.services[1]: 'shop/echo' listed again"));
  }

  @Test
  void anEmptyMessageImportsNothing() {
    ServiceImportSet set = ImportsCodec.decode(ServiceImports.getDefaultInstance());

    assertThat(set.services()).isEmpty();
    assertThat(set.findings()).isEmpty();
  }

  private static ServiceImportSet decode(ImportedService... services) {
    return ImportsCodec.decode(
        ServiceImports.newBuilder().addAllServices(List.of(services)).build());
  }

  private static ServicePort port(String name, int port, Protocol protocol) {
    return ServicePort.newBuilder().setName(name).setPort(port).setProtocol(protocol).build();
  }
}
