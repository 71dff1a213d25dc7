package dev.fedmesh.agent.kubernetes;

import dev.fedmesh.model.Protocol;
import java.util.Locale;
import java.util.Optional;

/**
 * How a Kubernetes service port declares its protocol: its {@code appProtocol} first, else its name
 * ({@code grpc}, {@code http-web}: the protocol, alone or followed by {@code -}), as Istio reads
 * them; and the {@code appProtocol} the agent writes for a mesh protocol (ServiceImport ports),
 * which reads back as the same protocol.
 */
public final class PortProtocols {
  private PortProtocols() {}

  /** The protocol an {@code appProtocol} value names, or empty when the mesh does not know it. */
  static Optional<Protocol> fromAppProtocol(String appProtocol) {
    if (appProtocol == null || appProtocol.isEmpty()) {
      return Optional.empty();
    }
    return switch (appProtocol.toLowerCase(Locale.ROOT)) {
      case "http" -> Optional.of(Protocol.HTTP);
      case "http2", "h2c", "kubernetes.io/h2c" -> Optional.of(Protocol.HTTP2);
      case "grpc" -> Optional.of(Protocol.GRPC);
      case "tcp" -> Optional.of(Protocol.TCP);
      case "tls", "https" -> Optional.of(Protocol.TLS);
      default -> Optional.empty();
    };
  }

  /**
   * The {@code appProtocol} that says {@code protocol} on a Kubernetes port whose {@code protocol}
   * is TCP: Kubernetes' own {@code kubernetes.io/h2c} for HTTP/2 without TLS, else the names Istio
   * reads; empty for plain TCP, which says nothing the port's protocol does not.
   */
  static Optional<String> appProtocol(Protocol protocol) {
    return switch (protocol) {
      case TCP -> Optional.empty();
      case HTTP -> Optional.of("http");
      case HTTP2 -> Optional.of("kubernetes.io/h2c");
      case GRPC -> Optional.of("grpc");
      case TLS -> Optional.of("tls");
    };
  }

  /** The protocol a port name's prefix declares, or empty when it declares none. */
  public static Optional<Protocol> fromPortName(String name) {
    if (name == null || name.isEmpty()) {
      return Optional.empty();
    }
    int dash = name.indexOf('-');
    String prefix = dash < 0 ? name : name.substring(0, dash);
    return switch (prefix.toLowerCase(Locale.ROOT)) {
      case "http" -> Optional.of(Protocol.HTTP);
      case "http2" -> Optional.of(Protocol.HTTP2);
      case "grpc" -> Optional.of(Protocol.GRPC);
      case "tcp" -> Optional.of(Protocol.TCP);
      case "tls", "https" -> Optional.of(Protocol.TLS);
      default -> Optional.empty();
    };
  }
}
