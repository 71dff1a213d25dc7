package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.model.XdsNames;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The init container's rules, line by line as a reviewer of a pod's iptables would check them (the
 * root-only {@code TransparentInterceptionIT} runs them for real in network namespaces).
 */
class SidecarTemplateTest {
  private static final InjectionSettings SETTINGS =
      new InjectionSettings(
          "proxy:0.1.0",
          "proxy-init:0.1.0",
          "east",
          "east",
          "fedmesh.local",
          "controller:15012",
          "agent:15012",
          1337,
          true);

  /** The outbound rules as they were before DNS capture, and still are without it. */
  private static final List<String> OUTBOUND_WITHOUT_DNS =
      List.of(
          "iptables -t nat -N FEDMESH_OUTBOUND",
          "iptables -t nat -A FEDMESH_OUTBOUND -m owner --uid-owner 1337 -j RETURN",
          "iptables -t nat -A FEDMESH_OUTBOUND -m owner --gid-owner 1337 -j RETURN",
          "iptables -t nat -A FEDMESH_OUTBOUND -d 127.0.0.1/32 -j RETURN",
          "iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports 15001",
          "iptables -t nat -A OUTPUT -p tcp -j FEDMESH_OUTBOUND");

  @Test
  void redirectModeRedirectsInboundAndOutboundExceptTheProxyItselfLoopbackAndAdminPorts() {
    List<String> lines = lines(SidecarTemplate.InterceptionMode.REDIRECT, true);

    assertThat(lines.get(0)).isEqualTo("set -e");
    assertThat(lines)
        .containsSubsequence(
            "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport 15000 -j RETURN",
            "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport 15090 -j RETURN",
            "iptables -t nat -A FEDMESH_INBOUND -p tcp -j REDIRECT --to-ports 15006",
            "iptables -t nat -A PREROUTING -p tcp -j FEDMESH_INBOUND")
        .containsSubsequence(OUTBOUND_WITHOUT_DNS);
    assertThat(lines).noneMatch(line -> line.contains("mangle") || line.startsWith("ip "));
  }

  @Test
  void tproxyModeCapturesNewInboundConnectionsInTheMangleTableAndRoutesThemLocally() {
    List<String> lines = lines(SidecarTemplate.InterceptionMode.TPROXY, true);

    assertThat(lines)
        .containsSubsequence(
            "ip -f inet rule add fwmark 1337 lookup 133",
            "ip -f inet route add local default dev lo table 133",
            "iptables -t mangle -A FEDMESH_DIVERT -j MARK --set-mark 1337",
            "iptables -t mangle -A FEDMESH_DIVERT -j ACCEPT",
            "iptables -t mangle -A FEDMESH_INBOUND -p tcp --dport 15000 -j RETURN",
            "iptables -t mangle -A FEDMESH_INBOUND -p tcp --dport 15090 -j RETURN",
            "iptables -t mangle -A FEDMESH_INBOUND -p tcp -m conntrack --ctstate"
                + " RELATED,ESTABLISHED -j FEDMESH_DIVERT",
            "iptables -t mangle -A FEDMESH_INBOUND -p tcp -j TPROXY --on-port 15006"
                + " --tproxy-mark 1337/0xffffffff",
            "iptables -t mangle -A PREROUTING ! -i lo -p tcp -j FEDMESH_INBOUND")
        .contains("iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports 15001")
        .noneMatch(line -> line.contains("REDIRECT --to-ports 15006"));
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void
      dnsCaptureSendsTheApplicationsPort53ToTheDnsListenerAfterTheProxysOwnTrafficAndBeforeLoopback(
          SidecarTemplate.InterceptionMode mode) {
    List<String> outbound =
        lines(mode, true).stream().filter(line -> line.contains("FEDMESH_OUTBOUND")).toList();

    // In this order: the proxy's own queries (to the resolvers in its resolv.conf) are let through
    // first; then port 53, UDP and TCP, goes to the DNS listener, whatever the destination, so a
    // resolver on loopback (127.0.0.x:53) is captured too; only then does loopback skip the
    // capture, which keeps 127.0.0.1:15053 itself from being redirected again or sent to 15001.
    assertThat(outbound)
        .containsExactly(
            "iptables -t nat -N FEDMESH_OUTBOUND",
            "iptables -t nat -A FEDMESH_OUTBOUND -m owner --uid-owner 1337 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -m owner --gid-owner 1337 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -p udp --dport 53 -j REDIRECT --to-ports 15053",
            "iptables -t nat -A FEDMESH_OUTBOUND -p tcp --dport 53 -j REDIRECT --to-ports 15053",
            "iptables -t nat -A FEDMESH_OUTBOUND -d 127.0.0.1/32 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports 15001",
            "iptables -t nat -A OUTPUT -p tcp -j FEDMESH_OUTBOUND",
            "iptables -t nat -A OUTPUT -p udp --dport 53 -j FEDMESH_OUTBOUND");
    assertThat(SidecarTemplate.DNS_PORT).isEqualTo(XdsNames.DNS_PORT);
  }

  @ParameterizedTest
  @EnumSource(SidecarTemplate.InterceptionMode.class)
  void dnsCaptureAddsItsRulesAndChangesNothingElse(SidecarTemplate.InterceptionMode mode) {
    List<String> with = lines(mode, true);
    List<String> without = lines(mode, false);

    assertThat(without)
        .noneMatch(line -> line.contains("udp") || line.contains("15053"))
        .noneMatch(line -> line.contains("--dport 53 "));
    assertThat(without.stream().filter(line -> line.contains("FEDMESH_OUTBOUND")).toList())
        .containsExactlyElementsOf(OUTBOUND_WITHOUT_DNS);
    List<String> withoutDnsRules = new ArrayList<>(with);
    withoutDnsRules.removeIf(line -> line.contains("--dport 53 "));
    assertThat(withoutDnsRules).containsExactlyElementsOf(without);
    assertThat(with.get(with.size() - 1))
        .as("the script still ends with its last rule (and a newline)")
        .startsWith("iptables");
  }

  @Test
  void theProxyIsToldTheModeAndGetsNetAdminOnlyForTproxy() {
    Container redirect =
        SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.REDIRECT, true);
    Container tproxy =
        SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.TPROXY, true);

    assertThat(env(redirect, "FEDMESH_INTERCEPTION_MODE")).isEqualTo("REDIRECT");
    assertThat(env(tproxy, "FEDMESH_INTERCEPTION_MODE")).isEqualTo("TPROXY");
    assertThat(redirect.getSecurityContext().getCapabilities().getAdd()).isEmpty();
    assertThat(tproxy.getSecurityContext().getCapabilities().getAdd()).containsExactly("NET_ADMIN");
    assertThat(tproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(tproxy.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
  }

  @Test
  void theProxyIsToldWhetherItAnswersItsPodsDnsAndWhere() {
    Container capturing =
        SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.REDIRECT, true);
    Container notCapturing =
        SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.REDIRECT, false);

    assertThat(env(capturing, "FEDMESH_DNS_CAPTURE")).isEqualTo("true");
    assertThat(env(notCapturing, "FEDMESH_DNS_CAPTURE")).isEqualTo("false");
    assertThat(env(capturing, "FEDMESH_DNS_PORT")).isEqualTo(String.valueOf(XdsNames.DNS_PORT));
  }

  @Test
  void theInitContainerRunsTheScriptOfItsModeAndDnsCapture() {
    Container init = SidecarTemplate.init(SETTINGS, SidecarTemplate.InterceptionMode.TPROXY, false);
    assertThat(init.getCommand())
        .containsExactly(
            "sh",
            "-c",
            SidecarTemplate.redirectionScript(
                1337, SidecarTemplate.InterceptionMode.TPROXY, false));
  }

  private static List<String> lines(SidecarTemplate.InterceptionMode mode, boolean dnsCapture) {
    return List.of(SidecarTemplate.redirectionScript(1337, mode, dnsCapture).split("\n"));
  }

  private static String env(Container container, String name) {
    return container.getEnv().stream()
        .filter(e -> e.getName().equals(name))
        .map(EnvVar::getValue)
        .findFirst()
        .orElseThrow();
  }
}
