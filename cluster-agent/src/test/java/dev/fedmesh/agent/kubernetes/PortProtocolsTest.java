package dev.fedmesh.agent.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.Protocol;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class PortProtocolsTest {
  @ParameterizedTest
  @CsvSource({
    "http, HTTP",
    "http-web, HTTP",
    "http2, HTTP2",
    "http2-api, HTTP2",
    "grpc, GRPC",
    "grpc-status, GRPC",
    "tcp-db, TCP",
    "tls, TLS",
    "https-admin, TLS",
  })
  void namePrefixDeclaresTheProtocol(String name, Protocol expected) {
    assertThat(PortProtocols.fromPortName(name)).contains(expected);
  }

  @ParameterizedTest
  @CsvSource({"web", "metrics", "httpx", "grpcweb", "''"})
  void nameWithoutAKnownPrefixDeclaresNothing(String name) {
    assertThat(PortProtocols.fromPortName(name)).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({
    "http, HTTP",
    "HTTP, HTTP",
    "kubernetes.io/h2c, HTTP2",
    "grpc, GRPC",
    "tcp, TCP",
    "https, TLS",
  })
  void appProtocolDeclaresTheProtocol(String appProtocol, Protocol expected) {
    assertThat(PortProtocols.fromAppProtocol(appProtocol)).isEqualTo(Optional.of(expected));
  }

  @ParameterizedTest
  @CsvSource({"mongo", "kubernetes.io/ws", "''"})
  void unknownAppProtocolDeclaresNothing(String appProtocol) {
    assertThat(PortProtocols.fromAppProtocol(appProtocol)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Protocol.class)
  void theAppProtocolWrittenForAProtocolReadsBackAsThatProtocol(Protocol protocol) {
    // What the agent writes on ServiceImport ports must mean the same to its own reader (and so to
    // Istio's); a TCP port carries none, which a reader takes as TCP.
    Optional<String> written = PortProtocols.appProtocol(protocol);

    assertThat(written.flatMap(PortProtocols::fromAppProtocol).orElse(Protocol.TCP))
        .isEqualTo(protocol);
    assertThat(written.isEmpty()).isEqualTo(protocol == Protocol.TCP);
  }
}
