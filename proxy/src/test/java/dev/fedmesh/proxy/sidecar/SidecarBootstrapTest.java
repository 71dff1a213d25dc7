package dev.fedmesh.proxy.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.proxy.intercept.InterceptionMode;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bootstrap file as a user writes it: control-plane transport and connection timers. */
class SidecarBootstrapTest {
  private static final String BASE =
      "node: {id: web-1, cluster: east, namespace: shop, serviceAccount: web}\n"
          + "controllers: ['127.0.0.1:15012']\n";

  @TempDir Path dir;

  @Test
  void withoutACaTheSidecarSpeaksPlaintextAndWaitsFiveSecondsForFirstBytes() throws Exception {
    SidecarBootstrap bootstrap = load(BASE);
    assertThat(bootstrap.controllersOverTls()).isFalse();
    assertThat(bootstrap.protocolDetectionTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void withACaTheControllersAreMutualTlsUnlessPlaintextIsAskedFor() throws Exception {
    Files.writeString(dir.resolve("token"), "t");
    Files.writeString(dir.resolve("roots.pem"), "");
    String ca = "ca: {address: '127.1.0.1:15012', tokenFile: token, rootsFile: roots.pem}\n";
    assertThat(load(BASE + ca).controllersOverTls()).isTrue();
    assertThat(load(BASE + ca + "insecureControllers: true\n").controllersOverTls()).isFalse();
  }

  @Test
  void aStatsListenerIsOptionalAndMustBeAnAddress() throws Exception {
    assertThat(load(BASE).stats()).isEmpty();
    assertThat(load(BASE + "stats: 127.0.0.1:15090\n").stats())
        .contains(new java.net.InetSocketAddress("127.0.0.1", 15090));
    assertThatThrownBy(() -> load(BASE + "stats: nowhere\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stats: ");
  }

  @Test
  void theDnsListenerForwardsToTheResolversOfEtcResolvConfUnlessAnotherFileIsNamed()
      throws Exception {
    assertThat(load(BASE).resolvConf()).isEqualTo(Path.of("/etc/resolv.conf"));
    assertThat(load(BASE + "resolvConf: pod-resolv.conf\n").resolvConf())
        .isEqualTo(dir.resolve("pod-resolv.conf"));
  }

  @Test
  void theDetectionTimeoutIsAPositiveDuration() throws Exception {
    assertThat(load(BASE + "protocolDetectionTimeout: 750ms\n").protocolDetectionTimeout())
        .isEqualTo(Duration.ofMillis(750));
    for (String bad : new String[] {"0s", "soon", "-1s"}) {
      assertThatThrownBy(() -> load(BASE + "protocolDetectionTimeout: " + bad + "\n"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageEndingWith(
              "protocolDetectionTimeout: '"
                  + bad
                  + "' (expected: a duration above zero such as 5s or 500ms)");
    }
  }

  @Test
  void interceptionIsOffUnlessAskedForAndThenCapturesInboundOn15006() throws Exception {
    assertThat(load(BASE).interception().mode()).isEqualTo(InterceptionMode.NONE);
    SidecarBootstrap tproxy = load(BASE + "outbound: 127.0.0.1:15001\ninterception: tproxy\n");
    assertThat(tproxy.interception().mode()).isEqualTo(InterceptionMode.TPROXY);
    assertThat(tproxy.interception().inboundCapture())
        .isEqualTo(new InetSocketAddress("0.0.0.0", 15006));
    assertThat(
            load(BASE
                    + "outbound: 127.0.0.1:15001\ninterception: REDIRECT\n"
                    + "inboundCapture: 0.0.0.0:16006\n")
                .interception()
                .inboundCapture()
                .getPort())
        .isEqualTo(16006);
  }

  @Test
  void aWrongInterceptionModeOrAMissingOutboundListenerIsNamed() {
    assertThatThrownBy(() -> load(BASE + "outbound: 127.0.0.1:15001\ninterception: iptables\n"))
        .hasMessageEndingWith("interception: 'iptables' (expected: NONE, REDIRECT or TPROXY)");
    assertThatThrownBy(() -> load(BASE + "interception: REDIRECT\n"))
        .hasMessageContaining("outbound: missing (expected: host:port, where redirected outbound");
  }

  @Test
  void dnsCaptureIsOffByDefaultAndNeedsInterception() throws Exception {
    assertThat(
            load(BASE + "outbound: 127.0.0.1:15001\ninterception: REDIRECT\n")
                .interception()
                .dnsCapture())
        .isFalse();
    SidecarBootstrap capturing =
        load(BASE + "outbound: 127.0.0.1:15001\ninterception: REDIRECT\ndnsCapture: true\n");
    assertThat(capturing.interception().dnsCapture()).isTrue();
    assertThat(
            Sidecar.node(capturing)
                .getMetadata()
                .getFieldsOrThrow(dev.fedmesh.model.NodeMetadata.DNS_CAPTURE)
                .getStringValue())
        .isEqualTo("true");
    assertThat(
            Sidecar.node(load(BASE + "outbound: 127.0.0.1:15001\ninterception: REDIRECT\n"))
                .getMetadata()
                .containsFields(dev.fedmesh.model.NodeMetadata.DNS_CAPTURE))
        .isFalse();
    assertThatThrownBy(() -> load(BASE + "dnsCapture: true\n"))
        .hasMessageContaining(
            "dnsCapture: true (expected: only with interception REDIRECT or TPROXY");
  }

  @Test
  void anIncompleteOrWrongEnvironmentIsRefusedNamingEachVariable() {
    assertThatThrownBy(
            () ->
                SidecarBootstrap.fromEnvironment(
                    java.util.Map.of(
                        "FEDMESH_POD_NAME", "web-1",
                        "FEDMESH_DNS_CAPTURE", "yes",
                        "FEDMESH_INBOUND_PORTS", "8080/http/extra")))
        .hasMessageContaining("FEDMESH_POD_NAMESPACE: missing")
        .hasMessageContaining("FEDMESH_CLUSTER: missing")
        .hasMessageContaining("FEDMESH_CONTROLLER: missing")
        .hasMessageContaining("FEDMESH_DNS_CAPTURE: 'yes' (expected: true or false)")
        .hasMessageContaining("FEDMESH_INBOUND_PORTS: '8080/http/extra'");
    assertThatThrownBy(
            () ->
                SidecarBootstrap.fromEnvironment(
                    java.util.Map.of(
                        "FEDMESH_POD_NAME", "web-1",
                        "FEDMESH_POD_NAMESPACE", "shop",
                        "FEDMESH_CLUSTER", "east",
                        "FEDMESH_CONTROLLER", "ctl:15012",
                        "FEDMESH_INBOUND_PORTS", "8080/smtp")))
        .hasMessageContaining("inbound[0].protocol: 'smtp' (expected: http, http2 or tcp)");
  }

  private SidecarBootstrap load(String yaml) throws Exception {
    Path file = dir.resolve("sidecar.yaml");
    Files.writeString(file, yaml);
    return SidecarBootstrap.load(file);
  }
}
