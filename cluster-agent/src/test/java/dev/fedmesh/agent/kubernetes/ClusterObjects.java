package dev.fedmesh.agent.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import java.util.Map;

/** Kubernetes objects as a cluster would hold them, built tersely for tests. */
final class ClusterObjects {
  private ClusterObjects() {}

  static Node node(String name, String region, String zone) {
    return new NodeBuilder()
        .withNewMetadata()
        .withName(name)
        .withLabels(
            Map.of(
                ServiceTranslator.REGION_LABEL,
                region,
                ServiceTranslator.ZONE_LABEL,
                zone,
                "kubernetes.io/hostname",
                name))
        .endMetadata()
        .build();
  }

  static Namespace namespace(String name, Map<String, String> labels) {
    return new NamespaceBuilder()
        .withNewMetadata()
        .withName(name)
        .withLabels(labels)
        .endMetadata()
        .build();
  }

  static Pod pod(String name, String serviceAccount, String node, String ip) {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .withLabels(Map.of("app", name.replaceAll("-\\d+$", ""), "version", "v1"))
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(serviceAccount)
        .withNodeName(node)
        .addNewContainer()
        .withName("app")
        .withImage("example/app:1")
        .endContainer()
        .endSpec()
        .withNewStatus()
        .withPodIP(ip)
        .endStatus()
        .build();
  }

  static ServicePort port(String name, int port, String appProtocol) {
    return new ServicePortBuilder()
        .withName(name)
        .withPort(port)
        .withProtocol("TCP")
        .withAppProtocol(appProtocol)
        .build();
  }

  static Service service(String name, ServicePort... ports) {
    return service(name, Map.of(), ports);
  }

  static Service service(String name, Map<String, String> annotations, ServicePort... ports) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withType("ClusterIP")
        .withSelector(Map.of("app", name))
        .withPorts(ports)
        .endSpec()
        .build();
  }

  static EndpointPort slicePort(String name, int port) {
    return new EndpointPortBuilder().withName(name).withPort(port).withProtocol("TCP").build();
  }

  /** A ready endpoint for {@code pod}, where the EndpointSlice controller would put it. */
  static Endpoint ready(Pod pod) {
    return endpoint(pod, true, true, false);
  }

  static Endpoint endpoint(Pod pod, boolean ready, boolean serving, boolean terminating) {
    return new EndpointBuilder()
        .withAddresses(pod.getStatus().getPodIP())
        .withNodeName(pod.getSpec().getNodeName())
        .withNewTargetRef()
        .withKind("Pod")
        .withNamespace(pod.getMetadata().getNamespace())
        .withName(pod.getMetadata().getName())
        .endTargetRef()
        .withNewConditions()
        .withReady(ready)
        .withServing(serving)
        .withTerminating(terminating)
        .endConditions()
        .build();
  }

  static EndpointSlice slice(
      String name, String service, List<EndpointPort> ports, Endpoint... endpoints) {
    return new EndpointSliceBuilder()
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .withLabels(Map.of(ServiceTranslator.SERVICE_NAME_LABEL, service))
        .endMetadata()
        .withAddressType("IPv4")
        .withPorts(ports)
        .withEndpoints(endpoints)
        .build();
  }

  static GenericKubernetesResource serviceExport(String name) {
    return new GenericKubernetesResourceBuilder()
        .withApiVersion("multicluster.x-k8s.io/v1alpha1")
        .withKind("ServiceExport")
        .withNewMetadata()
        .withNamespace("default")
        .withName(name)
        .endMetadata()
        .build();
  }
}
