package dev.fedmesh.agent.injection;

import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import dev.fedmesh.model.SidecarJvm;
import dev.fedmesh.model.XdsNames;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The containers and volumes injected into a pod: the {@code fedmesh-proxy} sidecar, and the {@code
 * fedmesh-init} container that redirects the pod's TCP traffic through it with iptables (as Istio's
 * istio-init does): inbound to {@value #INBOUND_PORT}, outbound to {@value #OUTBOUND_PORT}, except
 * the proxy's own traffic (by its user and group id) and its admin and stats ports. Inbound capture
 * is by {@code nat REDIRECT} or, as Istio's {@code interceptionMode: TPROXY}, by {@code mangle
 * TPROXY} (the proxy then needs {@code NET_ADMIN} for its transparent listener). With DNS capture
 * (on by default), the application's DNS queries, UDP and TCP to port 53, go to the sidecar's DNS
 * listener on {@value #DNS_PORT}, as Istio's {@code DNS_CAPTURE} does.
 */
final class SidecarTemplate {
  static final String PROXY_CONTAINER = "fedmesh-proxy";
  static final String INIT_CONTAINER = "fedmesh-init";
  static final String TOKEN_VOLUME = "fedmesh-token";
  static final String CERTS_VOLUME = "fedmesh-certs";

  /**
   * The ConfigMap (and volume) with the mesh's root certificate, {@value #ROOTS_KEY}, which must
   * exist in every injected namespace (as Istio's {@code istio-ca-root-cert}): the sidecar checks
   * its cluster CA and its controllers against it.
   */
  public static final String ROOTS_VOLUME = "fedmesh-root-cert";

  public static final String ROOTS_KEY = "root-cert.pem";

  /** The downward API volume with the pod's labels, which the sidecar announces. */
  static final String PODINFO_VOLUME = "fedmesh-podinfo";

  static final int OUTBOUND_PORT = 15001;
  static final int INBOUND_PORT = 15006;
  static final int ADMIN_PORT = 15000;
  static final int STATS_PORT = 15090;
  static final int DNS_PORT = XdsNames.DNS_PORT;

  /** The firewall mark TPROXY sets on captured packets, and the routing table it selects. */
  static final int TPROXY_MARK = 1337;

  static final int TPROXY_TABLE = 133;

  /** How inbound traffic is captured, as Istio's {@code interceptionMode}. */
  enum InterceptionMode {
    /** {@code nat REDIRECT}: the proxy reads the original destination with SO_ORIGINAL_DST. */
    REDIRECT,
    /**
     * {@code mangle TPROXY}: nothing is rewritten; the proxy's transparent listener sees the
     * original destination as its local address.
     */
    TPROXY
  }

  static final String TOKEN_DIRECTORY = "/var/run/secrets/fedmesh/tokens";
  static final String CERTS_DIRECTORY = "/var/run/secrets/fedmesh/certs";
  static final String ROOTS_DIRECTORY = "/var/run/secrets/fedmesh/roots";
  static final String PODINFO_DIRECTORY = "/etc/fedmesh/podinfo";
  private static final long TOKEN_LIFETIME_SECONDS = 12 * 3600;

  private SidecarTemplate() {}

  static Container proxy(InjectionSettings settings) {
    return proxy(settings, InterceptionMode.REDIRECT, settings.dnsCapture());
  }

  /**
   * The sidecar container, told how its pod's traffic is captured ({@code dnsCapture}: whether it
   * must answer the application's DNS on {@value #DNS_PORT}).
   */
  static Container proxy(InjectionSettings settings, InterceptionMode mode, boolean dnsCapture) {
    return proxy(settings, mode, dnsCapture, "");
  }

  /**
   * The proxy container, told the application's ports ({@code FEDMESH_INBOUND_PORTS}, as {@link
   * #inboundPorts} makes them): with interception, a port the sidecar was not told about is
   * refused.
   */
  static Container proxy(
      InjectionSettings settings, InterceptionMode mode, boolean dnsCapture, String inboundPorts) {
    List<String> capabilities = mode == InterceptionMode.TPROXY ? List.of("NET_ADMIN") : List.of();
    return new ContainerBuilder()
        .withName(PROXY_CONTAINER)
        .withImage(settings.proxyImage())
        .withArgs("sidecar")
        .addNewPort()
        .withName("http-stats")
        .withContainerPort(STATS_PORT)
        .withProtocol("TCP")
        .endPort()
        .withEnv(environment(settings, mode, dnsCapture, inboundPorts))
        .withNewReadinessProbe()
        .withNewHttpGet()
        .withPath("/ready")
        .withNewPort(ADMIN_PORT)
        .endHttpGet()
        .withPeriodSeconds(2)
        .withFailureThreshold(30)
        .endReadinessProbe()
        .withNewResources()
        .withRequests(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("128Mi")))
        .endResources()
        .withNewSecurityContext()
        .withRunAsUser(settings.proxyUid())
        .withRunAsGroup(settings.proxyUid())
        .withRunAsNonRoot(true)
        .withAllowPrivilegeEscalation(false)
        .withReadOnlyRootFilesystem(true)
        .withNewCapabilities()
        .withDrop("ALL")
        .withAdd(capabilities)
        .endCapabilities()
        .endSecurityContext()
        .addNewVolumeMount()
        .withName(TOKEN_VOLUME)
        .withMountPath(TOKEN_DIRECTORY)
        .withReadOnly(true)
        .endVolumeMount()
        .addNewVolumeMount()
        .withName(CERTS_VOLUME)
        .withMountPath(CERTS_DIRECTORY)
        .endVolumeMount()
        .addNewVolumeMount()
        .withName(ROOTS_VOLUME)
        .withMountPath(ROOTS_DIRECTORY)
        .withReadOnly(true)
        .endVolumeMount()
        .addNewVolumeMount()
        .withName(PODINFO_VOLUME)
        .withMountPath(PODINFO_DIRECTORY)
        .withReadOnly(true)
        .endVolumeMount()
        .build();
  }

  /**
   * The application's TCP ports as the sidecar reads them: {@code port/protocol} joined by commas,
   * the protocol from the port's name as Kubernetes discovery reads it ({@code http}, {@code
   * http2}/{@code grpc} as http2, else tcp).
   */
  static String inboundPorts(List<io.fabric8.kubernetes.api.model.ContainerPort> ports) {
    java.util.SortedMap<Integer, String> byPort = new java.util.TreeMap<>();
    for (io.fabric8.kubernetes.api.model.ContainerPort port : ports) {
      if (port.getContainerPort() == null
          || (port.getProtocol() != null && !port.getProtocol().equals("TCP"))) {
        continue;
      }
      String protocol =
          dev.fedmesh.agent.kubernetes.PortProtocols.fromPortName(
                  port.getName() == null ? "" : port.getName())
              .map(
                  p ->
                      switch (p) {
                        case HTTP -> "http";
                        case HTTP2, GRPC -> "http2";
                        default -> "tcp";
                      })
              .orElse("tcp");
      byPort.putIfAbsent(port.getContainerPort(), port.getContainerPort() + "/" + protocol);
    }
    return String.join(",", byPort.values());
  }

  private static List<EnvVar> environment(
      InjectionSettings settings, InterceptionMode mode, boolean dnsCapture, String inboundPorts) {
    List<EnvVar> environment = new ArrayList<>();
    environment.add(value("JAVA_TOOL_OPTIONS", SidecarJvm.optionsLine()));
    SidecarJvm.ENVIRONMENT.forEach((name, value) -> environment.add(value(name, value)));
    environment.addAll(fedmeshEnvironment(settings, mode, dnsCapture, inboundPorts));
    return environment;
  }

  private static List<EnvVar> fedmeshEnvironment(
      InjectionSettings settings, InterceptionMode mode, boolean dnsCapture, String inboundPorts) {
    return List.of(
        value("FEDMESH_REGION", settings.region()),
        value("FEDMESH_INBOUND_PORTS", inboundPorts),
        value("FEDMESH_CA_ROOTS", ROOTS_DIRECTORY + "/" + ROOTS_KEY),
        value("FEDMESH_LABELS_FILE", PODINFO_DIRECTORY + "/labels"),
        value("FEDMESH_INTERCEPTION_MODE", mode.name()),
        value("FEDMESH_DNS_CAPTURE", String.valueOf(dnsCapture)),
        value("FEDMESH_CLUSTER", settings.cluster()),
        value("FEDMESH_NETWORK", settings.network()),
        value("FEDMESH_TRUST_DOMAIN", settings.trustDomain()),
        value("FEDMESH_CONTROLLER", settings.controllerAddress()),
        value("FEDMESH_CA_ADDRESS", settings.caAddress()),
        value("FEDMESH_CA_TOKEN", TOKEN_DIRECTORY + "/" + TOKEN_VOLUME),
        value("FEDMESH_INBOUND_PORT", String.valueOf(INBOUND_PORT)),
        value("FEDMESH_OUTBOUND_PORT", String.valueOf(OUTBOUND_PORT)),
        value("FEDMESH_ADMIN_PORT", String.valueOf(ADMIN_PORT)),
        value("FEDMESH_STATS_PORT", String.valueOf(STATS_PORT)),
        value("FEDMESH_DNS_PORT", String.valueOf(DNS_PORT)),
        field("FEDMESH_NODE_NAME", "spec.nodeName"),
        field("FEDMESH_POD_NAME", "metadata.name"),
        field("FEDMESH_POD_NAMESPACE", "metadata.namespace"),
        field("FEDMESH_POD_IP", "status.podIP"),
        field("FEDMESH_SERVICE_ACCOUNT", "spec.serviceAccountName"));
  }

  private static EnvVar value(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  /** A value the kubelet fills in when the pod starts (the downward API). */
  private static EnvVar field(String name, String fieldPath) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withFieldPath(fieldPath)
        .endFieldRef()
        .endValueFrom()
        .build();
  }

  static Container init(InjectionSettings settings) {
    return init(settings, InterceptionMode.REDIRECT, settings.dnsCapture());
  }

  static Container init(InjectionSettings settings, InterceptionMode mode, boolean dnsCapture) {
    return new ContainerBuilder()
        .withName(INIT_CONTAINER)
        .withImage(settings.initImage())
        .withCommand("sh", "-c", redirectionScript(settings.proxyUid(), mode, dnsCapture))
        .withNewResources()
        .withRequests(Map.of("cpu", new Quantity("10m"), "memory", new Quantity("16Mi")))
        .endResources()
        .withNewSecurityContext()
        .withRunAsUser(0L)
        .withRunAsNonRoot(false)
        .withPrivileged(false)
        .withAllowPrivilegeEscalation(false)
        .withNewCapabilities()
        .withAdd("NET_ADMIN", "NET_RAW")
        .withDrop("ALL")
        .endCapabilities()
        .endSecurityContext()
        .build();
  }

  /** The REDIRECT-mode rules, with DNS capture. */
  static String redirectionScript(long proxyUid) {
    return redirectionScript(proxyUid, InterceptionMode.REDIRECT, true);
  }

  /**
   * The rules, in a chain per direction so they can be read and removed as a unit: a POSIX shell
   * script that stops at the first failing command, runnable as is in the pod's network namespace.
   *
   * <p>Outbound is {@code nat REDIRECT} to {@value #OUTBOUND_PORT} in both modes (as Istio does),
   * except the proxy's own connections (its uid or gid) and loopback. Inbound skips the admin and
   * stats ports; the rest goes to {@value #INBOUND_PORT}: by {@code nat REDIRECT}, or by {@code
   * mangle TPROXY}, which marks the packets so a routing rule delivers them locally. TPROXY sees
   * only the first packet of a connection: packets of connections already open are marked and
   * accepted before it ({@code FEDMESH_DIVERT}), as TPROXY drops packets of sockets that are not
   * transparent (the proxy's own upstream connections). It applies to packets arriving from outside
   * the pod only ({@code ! -i lo}): on loopback it would take the proxy's connections to the
   * application.
   *
   * <p>With {@code dnsCapture}, the outbound chain first sends the application's DNS, UDP and TCP
   * to port 53, to {@value #DNS_PORT} ({@code nat REDIRECT} in both modes): after the proxy's own
   * traffic is let through (its upstream queries must reach the resolvers in {@code
   * /etc/resolv.conf}), and before loopback is, so a resolver on {@code 127.0.0.x:53} (a node-local
   * cache, say) is captured too. Traffic to {@code 127.0.0.1:}{@value #DNS_PORT} itself is not port
   * 53 and takes the loopback exception, so it never loops or reaches {@value #OUTBOUND_PORT}.
   */
  static String redirectionScript(long proxyUid, InterceptionMode mode, boolean dnsCapture) {
    List<String> lines = new ArrayList<>();
    lines.add("set -e");
    if (mode == InterceptionMode.REDIRECT) {
      lines.addAll(
          List.of(
              "iptables -t nat -N FEDMESH_INBOUND",
              "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport " + ADMIN_PORT + " -j RETURN",
              "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport " + STATS_PORT + " -j RETURN",
              "iptables -t nat -A FEDMESH_INBOUND -p tcp -j REDIRECT --to-ports " + INBOUND_PORT,
              "iptables -t nat -A PREROUTING -p tcp -j FEDMESH_INBOUND"));
    } else {
      lines.addAll(
          List.of(
              "ip -f inet rule add fwmark " + TPROXY_MARK + " lookup " + TPROXY_TABLE,
              "ip -f inet route add local default dev lo table " + TPROXY_TABLE,
              "iptables -t mangle -N FEDMESH_DIVERT",
              "iptables -t mangle -A FEDMESH_DIVERT -j MARK --set-mark " + TPROXY_MARK,
              "iptables -t mangle -A FEDMESH_DIVERT -j ACCEPT",
              "iptables -t mangle -N FEDMESH_INBOUND",
              "iptables -t mangle -A FEDMESH_INBOUND -p tcp --dport " + ADMIN_PORT + " -j RETURN",
              "iptables -t mangle -A FEDMESH_INBOUND -p tcp --dport " + STATS_PORT + " -j RETURN",
              "iptables -t mangle -A FEDMESH_INBOUND -p tcp -m conntrack --ctstate"
                  + " RELATED,ESTABLISHED -j FEDMESH_DIVERT",
              "iptables -t mangle -A FEDMESH_INBOUND -p tcp -j TPROXY --on-port "
                  + INBOUND_PORT
                  + " --tproxy-mark "
                  + TPROXY_MARK
                  + "/0xffffffff",
              "iptables -t mangle -A PREROUTING ! -i lo -p tcp -j FEDMESH_INBOUND"));
    }
    lines.addAll(outboundRules(proxyUid, dnsCapture));
    lines.add("");
    return String.join("\n", lines);
  }

  private static List<String> outboundRules(long proxyUid, boolean dnsCapture) {
    List<String> rules = new ArrayList<>();
    rules.add("iptables -t nat -N FEDMESH_OUTBOUND");
    rules.add(
        "iptables -t nat -A FEDMESH_OUTBOUND -m owner --uid-owner " + proxyUid + " -j RETURN");
    rules.add(
        "iptables -t nat -A FEDMESH_OUTBOUND -m owner --gid-owner " + proxyUid + " -j RETURN");
    if (dnsCapture) {
      for (String protocol : List.of("udp", "tcp")) {
        rules.add(
            "iptables -t nat -A FEDMESH_OUTBOUND -p "
                + protocol
                + " --dport 53 -j REDIRECT --to-ports "
                + DNS_PORT);
      }
    }
    rules.add("iptables -t nat -A FEDMESH_OUTBOUND -d 127.0.0.1/32 -j RETURN");
    rules.add("iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports " + OUTBOUND_PORT);
    rules.add("iptables -t nat -A OUTPUT -p tcp -j FEDMESH_OUTBOUND");
    if (dnsCapture) {
      rules.add("iptables -t nat -A OUTPUT -p udp --dport 53 -j FEDMESH_OUTBOUND");
    }
    return rules;
  }

  static List<Volume> volumes() {
    return List.of(
        new VolumeBuilder()
            .withName(TOKEN_VOLUME)
            .withNewProjected()
            .addNewSource()
            .withNewServiceAccountToken()
            .withAudience(TokenReviewAuthenticator.AUDIENCE)
            .withExpirationSeconds(TOKEN_LIFETIME_SECONDS)
            .withPath(TOKEN_VOLUME)
            .endServiceAccountToken()
            .endSource()
            .endProjected()
            .build(),
        new VolumeBuilder()
            .withName(CERTS_VOLUME)
            .withNewEmptyDir()
            .withMedium("Memory")
            .endEmptyDir()
            .build(),
        new VolumeBuilder()
            .withName(ROOTS_VOLUME)
            .withNewConfigMap()
            .withName(ROOTS_VOLUME)
            .endConfigMap()
            .build(),
        new VolumeBuilder()
            .withName(PODINFO_VOLUME)
            .withNewDownwardAPI()
            .addNewItem()
            .withPath("labels")
            .withNewFieldRef()
            .withFieldPath("metadata.labels")
            .endFieldRef()
            .endItem()
            .endDownwardAPI()
            .build());
  }
}
