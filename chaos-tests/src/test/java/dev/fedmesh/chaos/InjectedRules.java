package dev.fedmesh.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.agent.injection.InjectionSettings;
import dev.fedmesh.agent.injection.SidecarInjector;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * The iptables script a pod gets from the real injector: an AdmissionReview of a plain pod goes
 * through {@link SidecarInjector#review}, and the injected init container's script is returned as
 * the webhook would have put it in the pod.
 */
final class InjectedRules {
  private static final ObjectMapper JSON = new ObjectMapper();

  private InjectedRules() {}

  static String script(long proxyUid, boolean dnsCapture) {
    JsonNode patched = inject(proxyUid, dnsCapture, JSON.createArrayNode());
    for (JsonNode init : patched.path("spec").path("initContainers")) {
      if (init.path("name").asText().equals("fedmesh-init")) {
        return init.path("command").get(2).asText();
      }
    }
    throw new IllegalStateException("no fedmesh-init container in " + patched);
  }

  /**
   * A pod of one application container with {@code ports} (container port objects), as the injector
   * patches it.
   */
  static JsonNode inject(
      long proxyUid, boolean dnsCapture, com.fasterxml.jackson.databind.node.ArrayNode ports) {
    InjectionSettings settings =
        new InjectionSettings(
            "fedmesh/proxy:test",
            "fedmesh/init:test",
            "east",
            "east",
            "fedmesh.local",
            "fedmesh-controller.fedmesh-system.svc:15012",
            "fedmesh-agent.fedmesh-system.svc:15012",
            proxyUid,
            dnsCapture,
            "us-east");
    SidecarInjector injector =
        new SidecarInjector(
            settings, namespace -> Optional.of(Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled")));
    try {
      ObjectNode pod = JSON.createObjectNode();
      pod.put("apiVersion", "v1").put("kind", "Pod");
      pod.putObject("metadata").put("name", "app").put("namespace", "shop");
      ObjectNode app = pod.putObject("spec").putArray("containers").addObject();
      app.put("name", "app").put("image", "app");
      app.set("ports", ports);
      ObjectNode review = JSON.createObjectNode();
      review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
      ObjectNode request = review.putObject("request");
      request.put("uid", "00000000-0000-0000-0000-000000000001");
      request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
      request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
      request.put("namespace", "shop").put("operation", "CREATE");
      request.set("object", pod);
      SidecarInjector.Reply reply = injector.review(JSON.writeValueAsBytes(review));
      if (reply.outcome() != SidecarInjector.Outcome.INJECTED) {
        throw new IllegalStateException("the injector did not inject: " + reply.reason());
      }
      JsonNode response = JSON.readTree(reply.body()).path("response");
      byte[] patch = Base64.getDecoder().decode(response.path("patch").asText());
      return JsonPatch.apply(JSON.readTree(patch), pod);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
