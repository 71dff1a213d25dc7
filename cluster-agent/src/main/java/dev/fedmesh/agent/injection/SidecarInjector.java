package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a mutating admission webhook's AdmissionReviews ({@code admission.k8s.io/v1}) for pods: a
 * pod created in a namespace labelled {@value #NAMESPACE_LABEL}={@code enabled} gets the sidecar as
 * a JSONPatch, unless it opts out ({@value #INJECT_ANNOTATION}: "false"), is already injected, or
 * uses the host's network. A review that cannot be understood is refused whole, never admitted
 * half-patched: with HTTP 400 when it has no uid to answer, else with {@code allowed: false} and
 * the reason.
 */
public final class SidecarInjector {
  private static final Logger log = LoggerFactory.getLogger(SidecarInjector.class);

  /** The namespace label that turns injection on ({@code enabled}). */
  public static final String NAMESPACE_LABEL = "fedmesh-injection";

  /** A pod annotation; {@code "false"} keeps the sidecar out of that pod. */
  public static final String INJECT_ANNOTATION = "fedmesh.dev/inject";

  /**
   * A pod annotation choosing how inbound traffic is captured: {@code REDIRECT} (the default) or
   * {@code TPROXY}, as Istio's {@code sidecar.istio.io/interceptionMode}.
   */
  public static final String INTERCEPTION_ANNOTATION = "fedmesh.dev/interceptionMode";

  /**
   * A pod annotation turning DNS capture off ({@code "false"}) or on ({@code "true"}) for that pod,
   * whatever the injector's setting: its DNS queries then go around, or to, the sidecar's DNS
   * listener. Istio's equivalent is {@code ISTIO_META_DNS_CAPTURE} in {@code
   * proxy.istio.io/config}.
   */
  public static final String DNS_CAPTURE_ANNOTATION = "fedmesh.dev/dnsCapture";

  /** Set on injected pods: what was injected, which also makes injection idempotent. */
  public static final String STATUS_ANNOTATION = "fedmesh.dev/status";

  private static final String REVIEW_API_VERSION = "admission.k8s.io/v1";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How a review was answered. */
  public enum Outcome {
    /** Allowed with the sidecar patch. */
    INJECTED,
    /** Allowed unchanged: not a pod to inject. */
    SKIPPED,
    /** Not allowed: the review or its pod could not be understood or injected safely. */
    REFUSED,
    /** Not an AdmissionReview one could answer: HTTP 400. */
    MALFORMED
  }

  /**
   * The HTTP answer to one review.
   *
   * @param httpStatus 200 for an answered review, 400 for a malformed one
   * @param body the response AdmissionReview, or the reason as text
   * @param outcome what was decided
   * @param reason why, for logs and metrics
   */
  public record Reply(int httpStatus, String body, Outcome outcome, String reason) {}

  private final InjectionSettings settings;
  private final NamespaceLabels namespaces;

  public SidecarInjector(InjectionSettings settings, NamespaceLabels namespaces) {
    this.settings = requireNonNull(settings, "settings");
    this.namespaces = requireNonNull(namespaces, "namespaces");
  }

  /** Answers the AdmissionReview in {@code body}. */
  public Reply review(byte[] body) {
    requireNonNull(body, "body");
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return malformed("body: not JSON (expected: an AdmissionReview)");
    }
    if (root == null || !root.isObject()) {
      return malformed("body: not a JSON object (expected: an AdmissionReview)");
    }
    String apiVersion = root.path("apiVersion").asText("");
    if (!REVIEW_API_VERSION.equals(apiVersion)) {
      return malformed("apiVersion: '" + apiVersion + "' (expected: " + REVIEW_API_VERSION + ")");
    }
    String kind = root.path("kind").asText("");
    if (!"AdmissionReview".equals(kind)) {
      return malformed("kind: '" + kind + "' (expected: AdmissionReview)");
    }
    JsonNode requestNode = root.path("request");
    if (!requestNode.isObject()) {
      return malformed("request: missing (expected: the admission request)");
    }
    AdmissionRequest request;
    try {
      // The pod is read on its own below, so that a bad pod is refused with the review's uid.
      ObjectNode fields = ((ObjectNode) requestNode).deepCopy();
      fields.remove(List.of("object", "oldObject"));
      request = JSON.treeToValue(fields, AdmissionRequest.class);
    } catch (IllegalArgumentException | JsonProcessingException e) {
      return malformed("request: " + firstLine(e.getMessage()));
    }
    if (request.getUid() == null || request.getUid().isBlank()) {
      return malformed("request.uid: missing (expected: the review's uid, to answer it)");
    }
    try {
      return decide(request, requestNode.path("object"));
    } catch (RuntimeException e) {
      log.warn("refusing pod admission {}: {}", request.getUid(), e.toString());
      return refuse(request.getUid(), "the injector failed: " + e);
    }
  }

  private Reply decide(AdmissionRequest request, JsonNode object) {
    String uid = request.getUid();
    String resource = request.getKind() == null ? "" : request.getKind().getKind();
    if (!"Pod".equals(resource) || !"CREATE".equals(request.getOperation())) {
      return allow(uid, "not a pod creation (" + resource + " " + request.getOperation() + ")");
    }
    if (!object.isObject()) {
      return refuse(uid, "request.object: missing (expected: the pod being created)");
    }
    Pod pod;
    try {
      pod = JSON.treeToValue(object, Pod.class);
    } catch (IllegalArgumentException | JsonProcessingException e) {
      return refuse(uid, "request.object: not a Pod (" + firstLine(e.getMessage()) + ")");
    }
    if (pod.getSpec() == null
        || pod.getSpec().getContainers() == null
        || pod.getSpec().getContainers().isEmpty()) {
      return refuse(uid, "request.object.spec.containers: none (expected: the pod's containers)");
    }
    String namespace = request.getNamespace();
    if (namespace == null || namespace.isEmpty()) {
      namespace = pod.getMetadata() == null ? null : pod.getMetadata().getNamespace();
    }
    if (namespace == null || namespace.isEmpty()) {
      return refuse(uid, "request.namespace: missing (expected: the pod's namespace)");
    }
    Map<String, String> annotations =
        pod.getMetadata() == null || pod.getMetadata().getAnnotations() == null
            ? Map.of()
            : pod.getMetadata().getAnnotations();
    if (isInjected(pod, annotations)) {
      return allow(uid, "already injected");
    }
    if ("false".equalsIgnoreCase(annotations.get(INJECT_ANNOTATION))) {
      return allow(uid, "opted out by " + INJECT_ANNOTATION);
    }
    if (Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
      return allow(uid, "uses the host's network, which redirection would take over");
    }
    Optional<Map<String, String>> labels;
    try {
      labels = namespaces.of(namespace);
    } catch (RuntimeException e) {
      return refuse(
          uid, "namespace '" + namespace + "': its labels cannot be read (" + e.getMessage() + ")");
    }
    if (!"enabled".equals(labels.orElse(Map.of()).get(NAMESPACE_LABEL))) {
      return allow(uid, "namespace '" + namespace + "' is not labelled " + NAMESPACE_LABEL);
    }
    Set<String> taken = volumeNames(pod);
    for (Volume volume : SidecarTemplate.volumes()) {
      if (taken.contains(volume.getName())) {
        return refuse(
            uid,
            "request.object.spec.volumes: '"
                + volume.getName()
                + "' exists (expected: the name free for the sidecar's volume)");
      }
    }
    SidecarTemplate.InterceptionMode mode;
    String asked = annotations.getOrDefault(INTERCEPTION_ANNOTATION, "REDIRECT");
    try {
      mode = SidecarTemplate.InterceptionMode.valueOf(asked.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return refuse(
          uid,
          "request.object.metadata.annotations['"
              + INTERCEPTION_ANNOTATION
              + "']: '"
              + asked
              + "' (expected: REDIRECT or TPROXY)");
    }
    boolean dnsCapture = settings.dnsCapture();
    String dns = annotations.get(DNS_CAPTURE_ANNOTATION);
    if (dns != null) {
      if (!"true".equalsIgnoreCase(dns) && !"false".equalsIgnoreCase(dns)) {
        return refuse(
            uid,
            "request.object.metadata.annotations['"
                + DNS_CAPTURE_ANNOTATION
                + "']: '"
                + dns
                + "' (expected: true or false)");
      }
      dnsCapture = "true".equalsIgnoreCase(dns);
    }
    ArrayNode patch = patch(object, mode, dnsCapture);
    return reply(
        uid,
        new AdmissionResponseBuilder()
            .withUid(uid)
            .withAllowed(true)
            .withPatchType("JSONPatch")
            .withPatch(
                Base64.getEncoder()
                    .encodeToString(patch.toString().getBytes(StandardCharsets.UTF_8)))
            .build(),
        Outcome.INJECTED,
        "injected into " + namespace + "/" + podName(pod));
  }

  private static boolean isInjected(Pod pod, Map<String, String> annotations) {
    if (annotations.containsKey(STATUS_ANNOTATION)) {
      return true;
    }
    boolean proxy = named(pod.getSpec().getContainers(), SidecarTemplate.PROXY_CONTAINER);
    boolean init = named(pod.getSpec().getInitContainers(), SidecarTemplate.INIT_CONTAINER);
    return proxy || init;
  }

  private static boolean named(List<Container> containers, String name) {
    return containers != null && containers.stream().anyMatch(c -> name.equals(c.getName()));
  }

  private static Set<String> volumeNames(Pod pod) {
    List<Volume> volumes = pod.getSpec().getVolumes();
    return volumes == null
        ? Set.of()
        : volumes.stream().map(Volume::getName).collect(Collectors.toSet());
  }

  /**
   * Adds to the pod exactly as the API server sent it: a list or map that is absent is added whole,
   * one that exists gets items appended, so existing entries are never replaced.
   */
  private ArrayNode patch(JsonNode pod, SidecarTemplate.InterceptionMode mode, boolean dnsCapture) {
    ArrayNode patch = JsonNodeFactory.instance.arrayNode();
    JsonNode metadata = pod.path("metadata");
    ObjectNode statusAnnotation = JsonNodeFactory.instance.objectNode();
    statusAnnotation.put(STATUS_ANNOTATION, status());
    if (!metadata.isObject()) {
      ObjectNode newMetadata = JsonNodeFactory.instance.objectNode();
      newMetadata.set("annotations", statusAnnotation);
      add(patch, "/metadata", newMetadata);
    } else if (!metadata.path("annotations").isObject()) {
      add(patch, "/metadata/annotations", statusAnnotation);
    } else {
      add(
          patch,
          "/metadata/annotations/" + escape(STATUS_ANNOTATION),
          statusAnnotation.get(STATUS_ANNOTATION));
    }
    JsonNode spec = pod.path("spec");
    append(
        patch, spec, "initContainers", List.of(SidecarTemplate.init(settings, mode, dnsCapture)));
    List<io.fabric8.kubernetes.api.model.ContainerPort> ports = new java.util.ArrayList<>();
    for (JsonNode container : spec.path("containers")) {
      for (JsonNode port : container.path("ports")) {
        ports.add(JSON.convertValue(port, io.fabric8.kubernetes.api.model.ContainerPort.class));
      }
    }
    append(
        patch,
        spec,
        "containers",
        List.of(
            SidecarTemplate.proxy(
                settings, mode, dnsCapture, SidecarTemplate.inboundPorts(ports))));
    append(patch, spec, "volumes", SidecarTemplate.volumes());
    return patch;
  }

  private static void append(ArrayNode patch, JsonNode spec, String field, List<?> items) {
    String path = "/spec/" + field;
    if (!spec.path(field).isArray()) {
      add(patch, path, JSON.valueToTree(items));
      return;
    }
    for (Object item : items) {
      add(patch, path + "/-", JSON.valueToTree(item));
    }
  }

  private static void add(ArrayNode patch, String path, JsonNode value) {
    ObjectNode operation = patch.addObject();
    operation.put("op", "add");
    operation.put("path", path);
    operation.set("value", value);
  }

  /** JSON Pointer escaping (RFC 6901): {@code ~} and {@code /} in a key. */
  private static String escape(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }

  private String status() {
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("initContainers", List.of(SidecarTemplate.INIT_CONTAINER));
    status.put("containers", List.of(SidecarTemplate.PROXY_CONTAINER));
    status.put("volumes", List.of(SidecarTemplate.TOKEN_VOLUME, SidecarTemplate.CERTS_VOLUME));
    status.put("image", settings.proxyImage());
    try {
      return JSON.writeValueAsString(status);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String podName(Pod pod) {
    if (pod.getMetadata() == null) {
      return "(unnamed)";
    }
    if (pod.getMetadata().getName() != null) {
      return pod.getMetadata().getName();
    }
    return pod.getMetadata().getGenerateName() == null
        ? "(unnamed)"
        : pod.getMetadata().getGenerateName() + "…";
  }

  private static Reply allow(String uid, String reason) {
    return reply(
        uid,
        new AdmissionResponseBuilder().withUid(uid).withAllowed(true).build(),
        Outcome.SKIPPED,
        reason);
  }

  private static Reply refuse(String uid, String reason) {
    return reply(
        uid,
        new AdmissionResponseBuilder()
            .withUid(uid)
            .withAllowed(false)
            .withStatus(
                new StatusBuilder()
                    .withCode(400)
                    .withReason("BadRequest")
                    .withMessage("fedmesh sidecar injection: " + reason)
                    .build())
            .build(),
        Outcome.REFUSED,
        reason);
  }

  private static Reply reply(
      String uid, AdmissionResponse response, Outcome outcome, String reason) {
    AdmissionReview review =
        new AdmissionReviewBuilder()
            .withApiVersion(REVIEW_API_VERSION)
            .withKind("AdmissionReview")
            .withResponse(response)
            .build();
    try {
      return new Reply(200, JSON.writeValueAsString(review), outcome, reason);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the response to review " + uid, e);
    }
  }

  private static Reply malformed(String reason) {
    return new Reply(400, reason + "\n", Outcome.MALFORMED, reason);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
