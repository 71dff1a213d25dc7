package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code kubectl kustomize deploy/overlays/<cluster>} (the real binary) renders each overlay; the
 * rendered objects read strictly, hold what the cluster needs (east: the control plane too) and
 * follow the pod rules: non-root, read-only root file system, no privilege escalation, no
 * capabilities, the runtime's seccomp profile, requests and limits, and probes on every container.
 */
class OverlayRenderingTest {
  private static final Set<String> CLUSTER_SCOPED =
      Set.of(
          "Namespace",
          "CustomResourceDefinition",
          "ClusterRole",
          "ClusterRoleBinding",
          "MutatingWebhookConfiguration");

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void everyClusterGetsTheAgentTheGatewayTheWebhookAndTheCrds(String cluster) {
    Rendered rendered = Rendered.overlay(cluster);

    assertThat(rendered.get(Namespace.class, "fedmesh-system")).isNotNull();
    assertThat(rendered.all(CustomResourceDefinition.class))
        .extracting(crd -> crd.getMetadata().getName())
        .containsExactlyInAnyOrder(
            "serviceexports.multicluster.x-k8s.io", "serviceimports.multicluster.x-k8s.io");
    Deployment agent = rendered.get(Deployment.class, "fedmesh-agent");
    assertThat(agent.getSpec().getReplicas()).isEqualTo(1);
    assertThat(agent.getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo("fedmesh-agent");
    assertThat(rendered.get(ServiceAccount.class, "fedmesh-agent")).isNotNull();
    assertThat(rendered.get(ClusterRole.class, "fedmesh-agent")).isNotNull();
    assertThat(rendered.get(ClusterRoleBinding.class, "fedmesh-agent")).isNotNull();
    assertThat(rendered.get(Service.class, "fedmesh-agent")).isNotNull();
    assertThat(rendered.get(MutatingWebhookConfiguration.class, "fedmesh-sidecar-injector"))
        .isNotNull();
    assertThat(rendered.get(Deployment.class, "fedmesh-eastwestgateway")).isNotNull();
    assertThat(rendered.get(ServiceAccount.class, "fedmesh-eastwestgateway")).isNotNull();
    Service gateway = rendered.get(Service.class, "fedmesh-eastwestgateway");
    assertThat(gateway.getSpec().getType()).isEqualTo("NodePort");
    assertThat(gateway.getSpec().getPorts())
        .singleElement()
        .satisfies(
            port -> {
              assertThat(port.getPort()).isEqualTo(15443);
              assertThat(port.getNodePort()).isEqualTo(31443);
            });
    assertThat(rendered.clusterConfig().getData())
        .containsEntry("cluster", cluster)
        .containsEntry("network", cluster);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void eachClusterHasItsOwnLocality(String cluster) {
    Map<String, String> config = Rendered.overlay(cluster).clusterConfig().getData();
    Map<String, List<String>> expected =
        Map.of(
            "east", List.of("us-east", "us-east-a"),
            "west", List.of("us-west", "us-west-a"),
            "central", List.of("eu-central", "eu-central-a"));
    assertThat(List.of(config.get("region"), config.get("zone"))).isEqualTo(expected.get(cluster));
  }

  @Test
  void eastAlsoRunsEtcdAndTwoControllerReplicasWithADisruptionBudget() {
    Rendered east = Rendered.overlay("east");

    StatefulSet etcd = east.get(StatefulSet.class, "etcd");
    assertThat(etcd.getSpec().getReplicas()).isEqualTo(3);
    assertThat(etcd.getSpec().getServiceName()).isEqualTo("etcd");
    Service headless = east.get(Service.class, "etcd");
    assertThat(headless.getSpec().getClusterIP()).isEqualTo("None");
    assertThat(headless.getSpec().getPorts())
        .extracting(p -> p.getName() + ":" + p.getPort())
        .containsExactlyInAnyOrder("client:2379", "peer:2380");

    Deployment controller = east.get(Deployment.class, "fedmesh-controller");
    assertThat(controller.getSpec().getReplicas()).isEqualTo(2);
    PodDisruptionBudget budget = east.get(PodDisruptionBudget.class, "fedmesh-controller");
    assertThat(budget.getSpec().getMinAvailable().getIntVal()).isEqualTo(1);
    assertThat(controller.getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(budget.getSpec().getSelector().getMatchLabels());
    assertThat(controller.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken())
        .isFalse();

    assertThat(east.get(Service.class, "fedmesh-controller").getSpec().getPorts())
        .anySatisfy(port -> assertThat(port.getPort()).isEqualTo(15012));
    Service external = east.get(Service.class, "fedmesh-controller-external");
    assertThat(external.getSpec().getType()).isEqualTo("NodePort");
    assertThat(external.getSpec().getPorts())
        .singleElement()
        .satisfies(
            port -> {
              assertThat(port.getPort()).isEqualTo(15012);
              assertThat(port.getNodePort()).isEqualTo(31012);
            });
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"west", "central"})
  void memberClustersRunNoControlPlane(String cluster) {
    Rendered rendered = Rendered.overlay(cluster);

    assertThat(rendered.all(StatefulSet.class)).isEmpty();
    assertThat(rendered.all(PodDisruptionBudget.class)).isEmpty();
    assertThat(rendered.objects())
        .extracting(o -> o.getKind() + "/" + o.getMetadata().getName())
        .noneMatch(name -> name.contains("controller") || name.contains("etcd"));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void objectsLiveInFedmeshSystemOrAreClusterScoped(String cluster) {
    for (HasMetadata object : Rendered.overlay(cluster).objects()) {
      String namespace = object.getMetadata().getNamespace();
      if (CLUSTER_SCOPED.contains(object.getKind())) {
        assertThat(namespace).as(object.getKind() + "/" + object.getMetadata().getName()).isNull();
      } else {
        assertThat(namespace)
            .as(object.getKind() + "/" + object.getMetadata().getName())
            .isEqualTo("fedmesh-system");
      }
      assertThat(object.getMetadata().getLabels())
          .as(object.getKind() + "/" + object.getMetadata().getName())
          .containsEntry("app.kubernetes.io/part-of", "fedmesh");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void everyContainerIsLockedDownSizedAndProbed(String cluster) {
    Rendered rendered = Rendered.overlay(cluster);
    List<String> problems = new ArrayList<>();
    for (Rendered.Workload workload : rendered.workloads()) {
      var pod = workload.pod();
      PodSecurityContext podSecurity =
          Optional.ofNullable(pod.getSecurityContext()).orElse(new PodSecurityContext());
      if (Boolean.TRUE.equals(pod.getHostNetwork())
          || Boolean.TRUE.equals(pod.getHostPID())
          || Boolean.TRUE.equals(pod.getHostIPC())) {
        problems.add(workload.name() + ": shares a host namespace");
      }
      List<Container> containers = new ArrayList<>(pod.getContainers());
      containers.addAll(Optional.ofNullable(pod.getInitContainers()).orElse(List.of()));
      for (Container container : containers) {
        String where = workload.name() + " container " + container.getName();
        SecurityContext security =
            Optional.ofNullable(container.getSecurityContext()).orElse(new SecurityContext());
        if (!Boolean.TRUE.equals(
            Optional.ofNullable(security.getRunAsNonRoot())
                .orElse(podSecurity.getRunAsNonRoot()))) {
          problems.add(where + ": runAsNonRoot is not true");
        }
        Long user = Optional.ofNullable(security.getRunAsUser()).orElse(podSecurity.getRunAsUser());
        if (user == null || user == 0) {
          // An image's USER may be a name, which the kubelet cannot check against runAsNonRoot.
          problems.add(where + ": no numeric non-root runAsUser");
        }
        if (!Boolean.TRUE.equals(security.getReadOnlyRootFilesystem())) {
          problems.add(where + ": readOnlyRootFilesystem is not true");
        }
        if (!Boolean.FALSE.equals(security.getAllowPrivilegeEscalation())) {
          problems.add(where + ": allowPrivilegeEscalation is not false");
        }
        if (Boolean.TRUE.equals(security.getPrivileged())) {
          problems.add(where + ": privileged");
        }
        if (security.getCapabilities() == null
            || !Objects.equals(security.getCapabilities().getDrop(), List.of("ALL"))
            || !Optional.ofNullable(security.getCapabilities().getAdd())
                .orElse(List.of())
                .isEmpty()) {
          problems.add(where + ": capabilities are not drop [ALL] with none added");
        }
        var seccomp =
            Optional.ofNullable(security.getSeccompProfile())
                .orElse(podSecurity.getSeccompProfile());
        if (seccomp == null || !"RuntimeDefault".equals(seccomp.getType())) {
          problems.add(where + ": seccompProfile is not RuntimeDefault");
        }
        var resources = container.getResources();
        for (String kind : List.of("cpu", "memory")) {
          Quantity request =
              resources == null || resources.getRequests() == null
                  ? null
                  : resources.getRequests().get(kind);
          Quantity limit =
              resources == null || resources.getLimits() == null
                  ? null
                  : resources.getLimits().get(kind);
          if (request == null || limit == null) {
            problems.add(where + ": no " + kind + " request and limit");
          } else if (Quantity.getAmountInBytes(request).compareTo(Quantity.getAmountInBytes(limit))
              > 0) {
            problems.add(where + ": " + kind + " request above its limit");
          }
        }
        if (!hasHttpProbe(container.getLivenessProbe())) {
          problems.add(where + ": no HTTP liveness probe");
        }
        if (!hasHttpProbe(container.getReadinessProbe())) {
          problems.add(where + ": no HTTP readiness probe");
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"east", "west", "central"})
  void jvmContainersWriteOnlyToAnEmptyDirTmp(String cluster) {
    Rendered rendered = Rendered.overlay(cluster);
    for (Rendered.Workload workload : rendered.workloads()) {
      for (Container container : workload.pod().getContainers()) {
        if (!container.getImage().startsWith("fedmesh/fedmesh:")) {
          continue;
        }
        VolumeMount tmp =
            container.getVolumeMounts().stream()
                .filter(mount -> mount.getMountPath().equals("/tmp"))
                .findFirst()
                .orElseThrow(() -> new AssertionError(workload.name() + ": no /tmp mount"));
        Volume volume =
            workload.pod().getVolumes().stream()
                .filter(v -> v.getName().equals(tmp.getName()))
                .findFirst()
                .orElseThrow();
        assertThat(volume.getEmptyDir()).as(workload.name() + " /tmp").isNotNull();
        assertThat(tmp.getReadOnly()).as(workload.name() + " /tmp").isNotEqualTo(Boolean.TRUE);
        for (VolumeMount mount : container.getVolumeMounts()) {
          if (!mount.getMountPath().equals("/tmp")) {
            assertThat(mount.getReadOnly())
                .as(workload.name() + " " + mount.getMountPath() + " is read-only")
                .isTrue();
          }
        }
      }
    }
  }

  private static boolean hasHttpProbe(Probe probe) {
    return probe != null
        && probe.getHttpGet() != null
        && probe.getHttpGet().getPath() != null
        && probe.getHttpGet().getPort() != null;
  }
}
