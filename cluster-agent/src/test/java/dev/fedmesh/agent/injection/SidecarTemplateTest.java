package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import java.util.List;
import org.junit.jupiter.api.Test;

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
          1337);

  @Test
  void redirectModeRedirectsInboundAndOutboundExceptTheProxyItselfLoopbackAndAdminPorts() {
    List<String> lines = lines(SidecarTemplate.InterceptionMode.REDIRECT);

    assertThat(lines.get(0)).isEqualTo("set -e");
    assertThat(lines)
        .containsSubsequence(
            "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport 15000 -j RETURN",
            "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport 15090 -j RETURN",
            "iptables -t nat -A FEDMESH_INBOUND -p tcp -j REDIRECT --to-ports 15006",
            "iptables -t nat -A PREROUTING -p tcp -j FEDMESH_INBOUND")
        .containsSubsequence(
            "iptables -t nat -A FEDMESH_OUTBOUND -m owner --uid-owner 1337 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -m owner --gid-owner 1337 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -d 127.0.0.1/32 -j RETURN",
            "iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports 15001",
            "iptables -t nat -A OUTPUT -p tcp -j FEDMESH_OUTBOUND");
    assertThat(lines).noneMatch(line -> line.contains("mangle") || line.startsWith("ip "));
  }

  @Test
  void tproxyModeCapturesNewInboundConnectionsInTheMangleTableAndRoutesThemLocally() {
    List<String> lines = lines(SidecarTemplate.InterceptionMode.TPROXY);

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

  @Test
  void theProxyIsToldTheModeAndGetsNetAdminOnlyForTproxy() {
    Container redirect = SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.REDIRECT);
    Container tproxy = SidecarTemplate.proxy(SETTINGS, SidecarTemplate.InterceptionMode.TPROXY);

    assertThat(env(redirect, "FEDMESH_INTERCEPTION_MODE")).isEqualTo("REDIRECT");
    assertThat(env(tproxy, "FEDMESH_INTERCEPTION_MODE")).isEqualTo("TPROXY");
    assertThat(redirect.getSecurityContext().getCapabilities().getAdd()).isEmpty();
    assertThat(tproxy.getSecurityContext().getCapabilities().getAdd()).containsExactly("NET_ADMIN");
    assertThat(tproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(tproxy.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
  }

  @Test
  void theInitContainerRunsTheScriptOfItsMode() {
    Container init = SidecarTemplate.init(SETTINGS, SidecarTemplate.InterceptionMode.TPROXY);
    assertThat(init.getCommand())
        .containsExactly(
            "sh",
            "-c",
            SidecarTemplate.redirectionScript(1337, SidecarTemplate.InterceptionMode.TPROXY));
  }

  private static List<String> lines(SidecarTemplate.InterceptionMode mode) {
    return List.of(SidecarTemplate.redirectionScript(1337, mode).split("\n"));
  }

  private static String env(Container container, String name) {
    return container.getEnv().stream()
        .filter(e -> e.getName().equals(name))
        .map(EnvVar::getValue)
        .findFirst()
        .orElseThrow();
  }
}
