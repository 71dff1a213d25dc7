package dev.fedmesh.agent.injection;

import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import java.util.List;
import java.util.Map;

/**
 * The containers and volumes injected into a pod: the {@code fedmesh-proxy} sidecar, and the {@code
 * fedmesh-init} container that redirects the pod's TCP traffic through it with iptables (as Istio's
 * istio-init does): inbound to {@value #INBOUND_PORT}, outbound to {@value #OUTBOUND_PORT}, except
 * the proxy's own traffic (by its user and group id) and its admin and stats ports.
 */
final class SidecarTemplate {
  static final String PROXY_CONTAINER = "fedmesh-proxy";
  static final String INIT_CONTAINER = "fedmesh-init";
  static final String TOKEN_VOLUME = "fedmesh-token";
  static final String CERTS_VOLUME = "fedmesh-certs";

  static final int OUTBOUND_PORT = 15001;
  static final int INBOUND_PORT = 15006;
  static final int ADMIN_PORT = 15000;
  static final int STATS_PORT = 15090;

  static final String TOKEN_DIRECTORY = "/var/run/secrets/fedmesh/tokens";
  static final String CERTS_DIRECTORY = "/var/run/secrets/fedmesh/certs";
  private static final long TOKEN_LIFETIME_SECONDS = 12 * 3600;

  private SidecarTemplate() {}

  static Container proxy(InjectionSettings settings) {
    return new ContainerBuilder()
        .withName(PROXY_CONTAINER)
        .withImage(settings.proxyImage())
        .withArgs("sidecar")
        .addNewPort()
        .withName("http-stats")
        .withContainerPort(STATS_PORT)
        .withProtocol("TCP")
        .endPort()
        .withEnv(environment(settings))
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
        .build();
  }

  private static List<EnvVar> environment(InjectionSettings settings) {
    return List.of(
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
    return new ContainerBuilder()
        .withName(INIT_CONTAINER)
        .withImage(settings.initImage())
        .withCommand("sh", "-c", redirectionScript(settings.proxyUid()))
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

  /** The nat rules, in a chain per direction so they can be read and removed as a unit. */
  static String redirectionScript(long proxyUid) {
    return String.join(
        "\n",
        "set -e",
        "iptables -t nat -N FEDMESH_INBOUND",
        "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport " + ADMIN_PORT + " -j RETURN",
        "iptables -t nat -A FEDMESH_INBOUND -p tcp --dport " + STATS_PORT + " -j RETURN",
        "iptables -t nat -A FEDMESH_INBOUND -p tcp -j REDIRECT --to-ports " + INBOUND_PORT,
        "iptables -t nat -A PREROUTING -p tcp -j FEDMESH_INBOUND",
        "iptables -t nat -N FEDMESH_OUTBOUND",
        "iptables -t nat -A FEDMESH_OUTBOUND -m owner --uid-owner " + proxyUid + " -j RETURN",
        "iptables -t nat -A FEDMESH_OUTBOUND -m owner --gid-owner " + proxyUid + " -j RETURN",
        "iptables -t nat -A FEDMESH_OUTBOUND -d 127.0.0.1/32 -j RETURN",
        "iptables -t nat -A FEDMESH_OUTBOUND -p tcp -j REDIRECT --to-ports " + OUTBOUND_PORT,
        "iptables -t nat -A OUTPUT -p tcp -j FEDMESH_OUTBOUND",
        "");
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
            .build());
  }
}
