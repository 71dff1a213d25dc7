package dev.fedmesh.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.agent.injection.InjectionSettings;
import dev.fedmesh.agent.injection.SidecarInjector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the real injector does to a pod: an AdmissionReview of a plain pod goes through {@link
 * SidecarInjector#review}, and its JSONPatch is applied as the API server would.
 */
final class Injection {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Injection() {}

  /**
   * The injector's settings as {@code AgentMain} builds them from its flags (its startWebhook),
   * here from the rendered agent's resolved arguments.
   */
  static InjectionSettings settings(List<String> agentArgs) {
    String cluster = ContainerArgs.flag(agentArgs, "--cluster").orElseThrow();
    List<String> controllers =
        List.of(ContainerArgs.flag(agentArgs, "--controller").orElseThrow().split(","));
    return new InjectionSettings(
        ContainerArgs.flag(agentArgs, "--proxy-image").orElseThrow(),
        ContainerArgs.flag(agentArgs, "--proxy-init-image").orElseThrow(),
        cluster,
        ContainerArgs.flag(agentArgs, "--network").orElse(cluster),
        ContainerArgs.flag(agentArgs, "--trust-domain").orElse("fedmesh.local"),
        ContainerArgs.flag(agentArgs, "--sidecar-controller").orElse(controllers.get(0)),
        ContainerArgs.flag(agentArgs, "--ca-address").orElseThrow(),
        InjectionSettings.DEFAULT_PROXY_UID,
        true);
  }

  /** A plain pod of namespace {@code namespace}, labelled {@code namespaceLabels}, injected. */
  static Pod inject(InjectionSettings settings, String namespace, Map<String, String> labels) {
    SidecarInjector injector = new SidecarInjector(settings, ns -> Optional.of(labels));
    try {
      byte[] review = review(namespace);
      SidecarInjector.Reply reply = injector.review(review);
      if (reply.outcome() != SidecarInjector.Outcome.INJECTED) {
        throw new AssertionError("the injector did not inject: " + reply.reason());
      }
      JsonNode response = JSON.readTree(reply.body()).path("response");
      byte[] patch = Base64.getDecoder().decode(response.path("patch").asText());
      JsonNode pod = JSON.readTree(review).path("request").path("object");
      JsonNode patched = JsonPatch.apply(JSON.readTree(patch), pod);
      return Serialization.unmarshal(JSON.writeValueAsString(patched), Pod.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An AdmissionReview (admission.k8s.io/v1) of the creation of a plain pod. */
  static byte[] review(String namespace) throws IOException {
    ObjectNode pod = JSON.createObjectNode();
    pod.put("apiVersion", "v1").put("kind", "Pod");
    pod.putObject("metadata").put("name", "app").put("namespace", namespace);
    ObjectNode container =
        pod.putObject("spec").put("serviceAccountName", "app").putArray("containers").addObject();
    container.put("name", "app").put("image", "example/app:1");
    container.putArray("ports").addObject().put("name", "http").put("containerPort", 8080);
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    request.put("uid", "00000000-0000-0000-0000-000000000001");
    request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
    request.put("namespace", namespace).put("operation", "CREATE");
    request.set("object", pod);
    return JSON.writeValueAsBytes(review);
  }
}
