package dev.fedmesh.agent.kubernetes;

import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.EndpointHealth;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Kubernetes' view of a cluster, translated to the mesh's: one {@link ServiceEndpoints} per
 * Service, with each endpoint's locality from its node, identity from its pod's service account and
 * health from its EndpointSlice conditions. A pure function of the view, so every rebuild of an
 * unchanged cluster gives an equal result.
 */
final class ServiceTranslator {
  /** The label Kubernetes puts on an EndpointSlice to name its Service. */
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  /** A Service or Namespace annotation that exports (or, on a Service, keeps local) services. */
  static final String EXPORT_ANNOTATION = "fedmesh.dev/export";

  static final String REGION_LABEL = "topology.kubernetes.io/region";
  static final String ZONE_LABEL = "topology.kubernetes.io/zone";
  private static final String LEGACY_REGION_LABEL = "failure-domain.beta.kubernetes.io/region";
  private static final String LEGACY_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone";

  /** Kubernetes' own namespaces: their services are announced, but not judged. */
  private static final Set<String> SYSTEM_NAMESPACES =
      Set.of("kube-system", "kube-public", "kube-node-lease");

  private static final Comparator<EndpointHealth> HEALTHIER_FIRST =
      Comparator.comparingInt(EndpointHealth::ordinal);

  /** The mesh's services and what is wrong with them. */
  record Translation(Map<ServiceKey, ServiceEndpoints> services, List<Finding> findings) {
    Translation {
      services = Map.copyOf(services);
      findings = List.copyOf(findings);
    }
  }

  /** A Kubernetes service port as the mesh names it. */
  private record MeshPort(String kubernetesName, ServicePort port) {}

  private final ClusterName cluster;
  private final Locality clusterLocality;

  ServiceTranslator(ClusterName cluster, Locality clusterLocality) {
    this.cluster = cluster;
    this.clusterLocality = clusterLocality;
  }

  /**
   * The Service's cluster IPs: {@code spec.clusterIPs}, else {@code spec.clusterIP}; none for a
   * headless Service ({@code None}) or one not allocated yet.
   */
  static List<String> clusterIps(Service service) {
    List<String> ips =
        service.getSpec().getClusterIPs() == null || service.getSpec().getClusterIPs().isEmpty()
            ? (service.getSpec().getClusterIP() == null
                ? List.of()
                : List.of(service.getSpec().getClusterIP()))
            : service.getSpec().getClusterIPs();
    return ips.stream()
        .filter(ip -> ip != null && dev.fedmesh.model.Addresses.isIpLiteral(ip))
        .distinct()
        .toList();
  }

  Translation translate(KubernetesView view) {
    Map<ServiceKey, ServiceEndpoints> services = new TreeMap<>();
    List<Finding> findings = new ArrayList<>();
    for (Service service : view.services()) {
      String namespace = service.getMetadata().getNamespace();
      String name = service.getMetadata().getName();
      if (service.getSpec() == null || "ExternalName".equals(service.getSpec().getType())) {
        continue;
      }
      List<Finding> serviceFindings = new ArrayList<>();
      try {
        ServiceKey key = ServiceKey.of(namespace, name);
        List<MeshPort> ports = ports(service, serviceFindings);
        List<Endpoint> endpoints = endpoints(view, namespace, name, ports);
        services.put(
            key,
            new ServiceEndpoints(
                cluster,
                key,
                ports.stream().map(MeshPort::port).toList(),
                exported(view, service),
                endpoints,
                clusterIps(service)));
      } catch (IllegalArgumentException e) {
        serviceFindings.add(
            new Finding(
                Finding.SERVICE_NOT_ANNOUNCED,
                namespace,
                name,
                0,
                "the mesh cannot represent this Service, so it is not announced: "
                    + e.getMessage()));
      }
      if (!SYSTEM_NAMESPACES.contains(namespace)) {
        findings.addAll(serviceFindings);
      }
    }
    return new Translation(services, findings);
  }

  private static List<MeshPort> ports(Service service, List<Finding> findings) {
    List<MeshPort> ports = new ArrayList<>();
    if (service.getSpec().getPorts() == null) {
      return ports;
    }
    String namespace = service.getMetadata().getNamespace();
    String serviceName = service.getMetadata().getName();
    for (io.fabric8.kubernetes.api.model.ServicePort port : service.getSpec().getPorts()) {
      if (port.getPort() == null || !isTcp(port.getProtocol())) {
        continue; // UDP and SCTP do not go through the mesh.
      }
      String name = port.getName() == null ? "" : port.getName();
      String appProtocol = port.getAppProtocol() == null ? "" : port.getAppProtocol();
      Optional<Protocol> declared =
          PortProtocols.fromAppProtocol(appProtocol).or(() -> PortProtocols.fromPortName(name));
      if (declared.isEmpty()) {
        findings.add(
            new Finding(
                Finding.PORT_PROTOCOL_UNKNOWN,
                namespace,
                serviceName,
                port.getPort(),
                undeclaredProtocol(name, appProtocol, port.getPort())));
      }
      ports.add(
          new MeshPort(
              name,
              new ServicePort(
                  name.isEmpty() ? "port-" + port.getPort() : name,
                  port.getPort(),
                  declared.orElse(Protocol.TCP))));
    }
    return ports;
  }

  private static String undeclaredProtocol(String name, String appProtocol, int port) {
    String what =
        name.isEmpty()
            ? "port " + port + " has no name"
            : "port '" + name + "' (" + port + ") has a name without a protocol prefix";
    String app =
        appProtocol.isEmpty()
            ? " and no appProtocol"
            : " and an appProtocol '" + appProtocol + "' the mesh does not know";
    return what
        + app
        + ": the mesh treats it as plain TCP, so HTTP routing, retries and request metrics do not"
        + " apply (expected: appProtocol http, http2, grpc, tcp or tls, or a name such as"
        + " 'http-web' or 'grpc')";
  }

  private List<Endpoint> endpoints(
      KubernetesView view, String namespace, String service, List<MeshPort> ports) {
    Map<String, MeshPort> byKubernetesName = new HashMap<>();
    ports.forEach(port -> byKubernetesName.put(port.kubernetesName(), port));
    Map<String, Endpoint> byAddress = new TreeMap<>();
    for (EndpointSlice slice : view.slicesOf(namespace, service)) {
      String addressType = slice.getAddressType();
      if (!"IPv4".equals(addressType) && !"IPv6".equals(addressType)) {
        continue; // FQDN slices name hosts, not pods.
      }
      Map<String, Integer> targetPorts = new LinkedHashMap<>();
      if (slice.getPorts() != null) {
        for (EndpointPort port : slice.getPorts()) {
          MeshPort meshPort = byKubernetesName.get(port.getName() == null ? "" : port.getName());
          if (meshPort != null && port.getPort() != null && isTcp(port.getProtocol())) {
            targetPorts.put(meshPort.port().name(), port.getPort());
          }
        }
      }
      if (slice.getEndpoints() == null) {
        continue;
      }
      for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint : slice.getEndpoints()) {
        Pod pod = null;
        ObjectReference target = endpoint.getTargetRef();
        if (target != null && "Pod".equals(target.getKind())) {
          String podNamespace = target.getNamespace() == null ? namespace : target.getNamespace();
          pod = view.pod(podNamespace, target.getName()).orElse(null);
          if (pod == null) {
            // Its identity is unknown until the pod informer catches up; announcing it now with
            // a guessed service account would make its peers reject its certificate.
            continue;
          }
        }
        String nodeName = endpoint.getNodeName();
        if (nodeName == null && pod != null && pod.getSpec() != null) {
          nodeName = pod.getSpec().getNodeName();
        }
        Locality locality = locality(view, nodeName, endpoint.getZone());
        EndpointHealth health = health(endpoint.getConditions());
        String serviceAccount = serviceAccount(pod);
        Map<String, String> labels = pod == null ? Map.of() : labels(pod);
        String podName = pod == null ? "" : pod.getMetadata().getName();
        if (endpoint.getAddresses() == null) {
          continue;
        }
        for (String address : endpoint.getAddresses()) {
          Endpoint candidate;
          try {
            candidate =
                new Endpoint(
                    address, targetPorts, locality, health, labels, serviceAccount, 1, podName);
          } catch (IllegalArgumentException e) {
            continue;
          }
          // While slices are rebalanced one endpoint may appear in two; the healthier copy wins.
          byAddress.merge(
              address,
              candidate,
              (a, b) -> HEALTHIER_FIRST.compare(a.health(), b.health()) <= 0 ? a : b);
        }
      }
    }
    return List.copyOf(byAddress.values());
  }

  /**
   * Kubernetes' conditions: a missing {@code ready} means ready, a missing {@code serving} means
   * what {@code ready} says, a missing {@code terminating} means not terminating.
   */
  static EndpointHealth health(EndpointConditions conditions) {
    if (conditions == null) {
      return EndpointHealth.HEALTHY;
    }
    boolean ready = !Boolean.FALSE.equals(conditions.getReady());
    boolean serving = conditions.getServing() == null ? ready : conditions.getServing();
    boolean terminating = Boolean.TRUE.equals(conditions.getTerminating());
    return EndpointHealth.fromConditions(ready, serving, terminating);
  }

  /**
   * The node's region and zone labels; without a node (or labels) the zone Kubernetes copied onto
   * the endpoint, and the cluster's own locality for whatever is still unknown.
   */
  private Locality locality(KubernetesView view, String nodeName, String endpointZone) {
    Node node = nodeName == null ? null : view.node(nodeName).orElse(null);
    String region = label(node, REGION_LABEL, LEGACY_REGION_LABEL);
    String zone = label(node, ZONE_LABEL, LEGACY_ZONE_LABEL);
    if (zone.isEmpty() && endpointZone != null) {
      zone = endpointZone;
    }
    if (region.isEmpty() && zone.isEmpty()) {
      return clusterLocality;
    }
    if (region.isEmpty()) {
      region = clusterLocality.region();
    }
    return region.isEmpty() ? Locality.UNKNOWN : Locality.of(region, zone);
  }

  private static String label(HasMetadata object, String label, String legacyLabel) {
    if (object == null || object.getMetadata().getLabels() == null) {
      return "";
    }
    Map<String, String> labels = object.getMetadata().getLabels();
    String value = labels.get(label);
    if (value == null || value.isEmpty()) {
      value = labels.get(legacyLabel);
    }
    return value == null ? "" : value;
  }

  private static String serviceAccount(Pod pod) {
    if (pod == null || pod.getSpec() == null) {
      return "default";
    }
    String account = pod.getSpec().getServiceAccountName();
    return account == null || account.isEmpty() ? "default" : account;
  }

  private static Map<String, String> labels(Pod pod) {
    Map<String, String> labels = pod.getMetadata().getLabels();
    return labels == null ? Map.of() : labels;
  }

  /**
   * A ServiceExport exports; otherwise the Service's {@code fedmesh.dev/export} annotation decides,
   * else its namespace's; otherwise the service stays in its cluster.
   */
  private static boolean exported(KubernetesView view, Service service) {
    String namespace = service.getMetadata().getNamespace();
    if (view.hasServiceExport(namespace, service.getMetadata().getName())) {
      return true;
    }
    String annotation = annotation(service);
    if (annotation == null) {
      annotation = view.namespace(namespace).map(ServiceTranslator::annotation).orElse(null);
    }
    return "true".equalsIgnoreCase(annotation);
  }

  private static String annotation(HasMetadata object) {
    Map<String, String> annotations = object.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(EXPORT_ANNOTATION);
  }

  private static boolean isTcp(String protocol) {
    return protocol == null || protocol.isEmpty() || "TCP".equals(protocol);
  }
}
