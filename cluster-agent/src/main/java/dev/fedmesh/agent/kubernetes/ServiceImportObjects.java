package dev.fedmesh.agent.kubernetes;

import dev.fedmesh.agent.federation.ImportedService;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.ServicePort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The ServiceImport ({@code multicluster.x-k8s.io/v1alpha1}) the agent keeps for an imported
 * service, as a pure function of the service:
 *
 * <pre>
 * metadata: {namespace: NS, name: NAME, labels: {app.kubernetes.io/managed-by: fedmesh}}
 * spec:
 *   type: ClusterSetIP
 *   ips: [IP, ...]                  # left out while there is none
 *   ports: [{name, port, protocol: TCP, appProtocol}]   # appProtocol left out for plain TCP
 * status:
 *   clusters: [{cluster: NAME}, ...]
 * </pre>
 *
 * The agent owns the label, {@code spec.type}, {@code spec.ips}, {@code spec.ports} and {@code
 * status.clusters} of the ServiceImports it made; anything else on them (other labels, annotations,
 * session affinity) is left as it finds it. Comparisons look at those fields only, so fields an API
 * server adds never make the agent write again.
 */
final class ServiceImportObjects {
  static final String API_VERSION = "multicluster.x-k8s.io/v1alpha1";
  static final String KIND = "ServiceImport";
  static final String CLUSTER_SET_IP = "ClusterSetIP";

  private static final String SPEC = "spec";
  private static final String STATUS = "status";

  /** A port as written and as read back, whatever number type the JSON reader chose. */
  private record Port(String name, long port, String protocol, String appProtocol) {}

  private ServiceImportObjects() {}

  /** Whether fedmesh made {@code object} (it carries the managed-by label). */
  static boolean isOurs(HasMetadata object) {
    Map<String, String> labels = object.getMetadata().getLabels();
    return labels != null
        && ServiceImports.MANAGED_BY.equals(labels.get(ServiceImports.MANAGED_BY_LABEL));
  }

  /** A new ServiceImport for {@code service}. */
  static GenericKubernetesResource of(ImportedService service) {
    GenericKubernetesResource object =
        new GenericKubernetesResourceBuilder()
            .withApiVersion(API_VERSION)
            .withKind(KIND)
            .withNewMetadata()
            .withNamespace(service.service().namespace())
            .withName(service.service().name())
            .withLabels(Map.of(ServiceImports.MANAGED_BY_LABEL, ServiceImports.MANAGED_BY))
            .endMetadata()
            .build();
    object.setAdditionalProperty(SPEC, spec(Map.of(), service));
    object.setAdditionalProperty(STATUS, status(Map.of(), service));
    return object;
  }

  /**
   * {@code existing} with the agent's label and fields as {@code service} says, everything else
   * kept; its resource version too, so the write fails if someone changed it meanwhile.
   */
  static GenericKubernetesResource updated(
      GenericKubernetesResource existing, ImportedService service) {
    GenericKubernetesResource object = copy(existing);
    object.setMetadata(
        new ObjectMetaBuilder(existing.getMetadata())
            .addToLabels(ServiceImports.MANAGED_BY_LABEL, ServiceImports.MANAGED_BY)
            .build());
    object.setAdditionalProperty(SPEC, spec(map(existing, SPEC), service));
    object.setAdditionalProperty(STATUS, status(map(existing, STATUS), service));
    return object;
  }

  /** {@code existing} with the status {@code service} says, for the status subresource. */
  static GenericKubernetesResource withStatus(
      GenericKubernetesResource existing, ImportedService service) {
    GenericKubernetesResource object = copy(existing);
    object.setAdditionalProperty(STATUS, status(map(existing, STATUS), service));
    return object;
  }

  /** Whether {@code existing} is ours and its spec says what {@code service} says. */
  static boolean specMatches(GenericKubernetesResource existing, ImportedService service) {
    Map<String, Object> spec = map(existing, SPEC);
    Map<String, Object> wanted = spec(Map.of(), service);
    return isOurs(existing)
        && CLUSTER_SET_IP.equals(spec.get("type"))
        && strings(spec.get("ips")).equals(strings(wanted.get("ips")))
        && ports(spec.get("ports")).equals(ports(wanted.get("ports")));
  }

  /** Whether the status of {@code existing} lists the clusters {@code service} is exported by. */
  static boolean statusMatches(GenericKubernetesResource existing, ImportedService service) {
    return clusters(map(existing, STATUS).get("clusters"))
        .equals(service.clusters().stream().map(ClusterName::value).toList());
  }

  private static Map<String, Object> spec(Map<String, Object> existing, ImportedService service) {
    Map<String, Object> spec = new LinkedHashMap<>(existing);
    spec.put("type", CLUSTER_SET_IP);
    if (service.ips().isEmpty()) {
      spec.remove("ips");
    } else {
      spec.put("ips", List.copyOf(service.ips()));
    }
    List<Map<String, Object>> ports = new ArrayList<>();
    for (ServicePort port : service.ports()) {
      Map<String, Object> written = new LinkedHashMap<>();
      written.put("name", port.name());
      written.put("port", port.port());
      // The mesh's ports are all TCP; what runs over it is the appProtocol's to say.
      written.put("protocol", "TCP");
      PortProtocols.appProtocol(port.protocol())
          .ifPresent(appProtocol -> written.put("appProtocol", appProtocol));
      ports.add(written);
    }
    spec.put("ports", ports);
    return spec;
  }

  private static Map<String, Object> status(Map<String, Object> existing, ImportedService service) {
    Map<String, Object> status = new LinkedHashMap<>(existing);
    status.put(
        "clusters",
        service.clusters().stream()
            .map(cluster -> Map.<String, Object>of("cluster", cluster.value()))
            .toList());
    return status;
  }

  private static GenericKubernetesResource copy(GenericKubernetesResource existing) {
    GenericKubernetesResource object = new GenericKubernetesResource();
    object.setApiVersion(existing.getApiVersion());
    object.setKind(existing.getKind());
    object.setMetadata(new ObjectMetaBuilder(existing.getMetadata()).build());
    existing.getAdditionalProperties().forEach(object::setAdditionalProperty);
    return object;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(GenericKubernetesResource object, String field) {
    Object value = object.getAdditionalProperties().get(field);
    return value instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
  }

  private static List<String> strings(Object value) {
    if (!(value instanceof List<?> list)) {
      return List.of();
    }
    return list.stream().map(String::valueOf).toList();
  }

  private static List<Port> ports(Object value) {
    if (!(value instanceof List<?> list)) {
      return List.of();
    }
    List<Port> ports = new ArrayList<>();
    for (Object item : list) {
      Map<?, ?> port = item instanceof Map<?, ?> map ? map : Map.of();
      ports.add(
          new Port(
              text(port.get("name")),
              port.get("port") instanceof Number number ? number.longValue() : -1,
              text(port.get("protocol")),
              text(port.get("appProtocol"))));
    }
    return ports;
  }

  private static List<String> clusters(Object value) {
    if (!(value instanceof List<?> list)) {
      return List.of();
    }
    return list.stream()
        .map(item -> item instanceof Map<?, ?> map ? text(map.get("cluster")) : "")
        .toList();
  }

  private static String text(Object value) {
    return value == null ? "" : Objects.toString(value);
  }
}
