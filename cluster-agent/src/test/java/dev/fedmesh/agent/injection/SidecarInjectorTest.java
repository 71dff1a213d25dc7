package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fedmesh.agent.ca.TokenReviewAuthenticator;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SidecarInjectorTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final InjectionSettings SETTINGS =
      new InjectionSettings(
          "registry.example/fedmesh/proxy:0.1.0",
          "registry.example/fedmesh/proxy-init:0.1.0",
          "east",
          "net-east",
          "fedmesh.local",
          "fedmesh-controller.fedmesh-system.svc:15010",
          "fedmesh-agent.fedmesh-system.svc:15012",
          InjectionSettings.DEFAULT_PROXY_UID,
          true);
  private static final Map<String, Map<String, String>> NAMESPACES =
      Map.of(
          "shop", Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled"),
          "legacy", Map.of("team", "legacy"),
          "paused", Map.of(SidecarInjector.NAMESPACE_LABEL, "disabled"));

  private final SidecarInjector injector =
      new SidecarInjector(SETTINGS, namespace -> Optional.ofNullable(NAMESPACES.get(namespace)));

  @Test
  void deploymentPodInLabelledNamespaceGetsTheSidecarAndKeepsEverythingElse() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    JsonNode original = review.at("/request/object").deepCopy();

    SidecarInjector.Reply reply = injector.review(bytes(review));

    assertThat(reply.httpStatus()).isEqualTo(200);
    assertThat(reply.outcome()).isEqualTo(SidecarInjector.Outcome.INJECTED);
    JsonNode response = JSON.readTree(reply.body()).path("response");
    assertThat(response.path("uid").asText()).isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patched = applyPatch(response, original);
    Pod pod = JSON.treeToValue(patched, Pod.class);

    assertThat(pod.getSpec().getContainers())
        .extracting(Container::getName)
        .containsExactly("checkout", "fedmesh-proxy");
    assertThat(pod.getSpec().getInitContainers())
        .as("the app's own init containers run first, before traffic is redirected")
        .extracting(Container::getName)
        .containsExactly("migrate", "fedmesh-init");
    assertThat(pod.getSpec().getVolumes())
        .extracting(Volume::getName)
        .containsExactly(
            "kube-api-access-x7k2p",
            "fedmesh-token",
            "fedmesh-certs",
            "fedmesh-root-cert",
            "fedmesh-podinfo");
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry("kubectl.kubernetes.io/restartedAt", "2026-01-01T00:00:00Z")
        .containsKey(SidecarInjector.STATUS_ANNOTATION);

    Container proxy = pod.getSpec().getContainers().get(1);
    assertThat(proxy.getImage()).isEqualTo("registry.example/fedmesh/proxy:0.1.0");
    assertThat(values(proxy.getEnv()))
        .containsEntry("FEDMESH_CLUSTER", "east")
        .containsEntry("FEDMESH_NETWORK", "net-east")
        .containsEntry("FEDMESH_TRUST_DOMAIN", "fedmesh.local")
        .containsEntry("FEDMESH_CONTROLLER", "fedmesh-controller.fedmesh-system.svc:15010")
        .containsEntry("FEDMESH_CA_ADDRESS", "fedmesh-agent.fedmesh-system.svc:15012");
    // The sidecar's JVM is the one the sidecar benchmark measures: small heap, serial GC.
    assertThat(values(proxy.getEnv()).get("JAVA_TOOL_OPTIONS"))
        .contains("-XX:+UseSerialGC", "-Xmx32m", "-XX:TrimNativeHeapInterval=5000");
    assertThat(values(proxy.getEnv())).containsEntry("MALLOC_ARENA_MAX", "2");
    assertThat(fieldRefs(proxy.getEnv()))
        .containsEntry("FEDMESH_NODE_NAME", "spec.nodeName")
        .containsEntry("FEDMESH_POD_NAME", "metadata.name")
        .containsEntry("FEDMESH_POD_NAMESPACE", "metadata.namespace")
        .containsEntry("FEDMESH_SERVICE_ACCOUNT", "spec.serviceAccountName");
    assertThat(proxy.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
    assertThat(proxy.getSecurityContext().getRunAsNonRoot()).isTrue();

    Container init = pod.getSpec().getInitContainers().get(1);
    assertThat(init.getSecurityContext().getCapabilities().getAdd())
        .containsExactly("NET_ADMIN", "NET_RAW");
    String script = String.join(" ", init.getCommand());
    assertThat(script)
        .contains("-j REDIRECT --to-ports 15006")
        .contains("-j REDIRECT --to-ports 15001")
        .contains("-m owner --uid-owner 1337 -j RETURN");

    Volume token = pod.getSpec().getVolumes().get(1);
    assertThat(token.getProjected().getSources().get(0).getServiceAccountToken().getAudience())
        .isEqualTo(TokenReviewAuthenticator.AUDIENCE);

    assertThat(withoutInjection(patched))
        .as("nothing of the pod but the additions changes")
        .isEqualTo(original);
  }

  @Test
  void barePodGetsTheListsItLacks() throws IOException {
    ObjectNode pod =
        (ObjectNode)
            JSON.readTree(
                """
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "debug", "namespace": "shop"},
                 "spec": {"containers": [{"name": "shell", "image": "busybox:1.36"}]}}
                """);

    SidecarInjector.Reply reply = injector.review(bytes(review("shop", pod)));

    assertThat(reply.outcome()).isEqualTo(SidecarInjector.Outcome.INJECTED);
    Pod patched =
        JSON.treeToValue(applyPatch(JSON.readTree(reply.body()).path("response"), pod), Pod.class);
    assertThat(patched.getSpec().getContainers())
        .extracting(Container::getName)
        .containsExactly("shell", "fedmesh-proxy");
    assertThat(patched.getSpec().getInitContainers())
        .extracting(Container::getName)
        .containsExactly("fedmesh-init");
    assertThat(patched.getSpec().getVolumes())
        .extracting(Volume::getName)
        .containsExactly("fedmesh-token", "fedmesh-certs", "fedmesh-root-cert", "fedmesh-podinfo");
    assertThat(patched.getMetadata().getAnnotations())
        .containsKey(SidecarInjector.STATUS_ANNOTATION);
  }

  @Test
  void podInNamespaceWithoutTheLabelIsAdmittedUnchanged() throws IOException {
    for (String namespace : List.of("legacy", "paused", "no-such-namespace")) {
      ObjectNode review = review("deployment-pod.json");
      ((ObjectNode) review.get("request")).put("namespace", namespace);

      SidecarInjector.Reply reply = injector.review(bytes(review));

      assertThat(reply.outcome()).as(namespace).isEqualTo(SidecarInjector.Outcome.SKIPPED);
      assertAdmittedUnchanged(reply);
    }
  }

  @Test
  void injectedPodIsNeverInjectedTwice() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    SidecarInjector.Reply first = injector.review(bytes(review));
    JsonNode injected =
        applyPatch(JSON.readTree(first.body()).path("response"), review.at("/request/object"));
    ((ObjectNode) review.get("request")).set("object", injected);

    SidecarInjector.Reply second = injector.review(bytes(review));

    assertThat(second.outcome()).isEqualTo(SidecarInjector.Outcome.SKIPPED);
    assertThat(second.reason()).isEqualTo("already injected");
    assertAdmittedUnchanged(second);
  }

  @Test
  void podWithTheProxyContainerButNoAnnotationIsNotInjectedAgain() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.at("/request/object/spec/containers/0")).put("name", "fedmesh-proxy");

    SidecarInjector.Reply reply = injector.review(bytes(review));

    assertThat(reply.reason()).isEqualTo("already injected");
    assertAdmittedUnchanged(reply);
  }

  @Test
  void podThatOptsOutIsAdmittedUnchanged() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.at("/request/object/metadata/annotations"))
        .put(SidecarInjector.INJECT_ANNOTATION, "false");

    SidecarInjector.Reply reply = injector.review(bytes(review));

    assertThat(reply.outcome()).isEqualTo(SidecarInjector.Outcome.SKIPPED);
    assertThat(reply.reason()).contains("opted out");
    assertAdmittedUnchanged(reply);
  }

  @Test
  void hostNetworkPodIsNotInjected() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.at("/request/object/spec")).put("hostNetwork", true);

    SidecarInjector.Reply reply = injector.review(bytes(review));

    assertThat(reply.reason()).contains("host's network");
    assertAdmittedUnchanged(reply);
  }

  @Test
  void updatesAndOtherKindsAreAdmittedUnchanged() throws IOException {
    ObjectNode update = review("deployment-pod.json");
    ((ObjectNode) update.get("request")).put("operation", "UPDATE");
    ObjectNode service = review("deployment-pod.json");
    ((ObjectNode) service.at("/request/kind")).put("kind", "Service");

    assertAdmittedUnchanged(injector.review(bytes(update)));
    assertAdmittedUnchanged(injector.review(bytes(service)));
  }

  @Test
  void bodyThatIsNotAReviewIsRefusedWithHttp400NamingTheField() throws IOException {
    ObjectNode wrongVersion = review("deployment-pod.json");
    wrongVersion.put("apiVersion", "admission.k8s.io/v1beta1");
    ObjectNode noUid = review("deployment-pod.json");
    ((ObjectNode) noUid.get("request")).remove("uid");

    assertThat(injector.review("{\"kind\": ".getBytes(StandardCharsets.UTF_8)))
        .extracting(SidecarInjector.Reply::httpStatus, SidecarInjector.Reply::reason)
        .containsExactly(400, "body: not JSON (expected: an AdmissionReview)");
    assertThat(injector.review(bytes(wrongVersion)))
        .extracting(SidecarInjector.Reply::httpStatus, SidecarInjector.Reply::reason)
        .containsExactly(
            400, "apiVersion: 'admission.k8s.io/v1beta1' (expected: admission.k8s.io/v1)");
    assertThat(injector.review(bytes(noUid)))
        .extracting(SidecarInjector.Reply::httpStatus, SidecarInjector.Reply::reason)
        .containsExactly(400, "request.uid: missing (expected: the review's uid, to answer it)");
  }

  @Test
  void reviewOfAPodThatCannotBeReadIsNotAllowed() throws IOException {
    ObjectNode noObject = review("deployment-pod.json");
    ((ObjectNode) noObject.get("request")).remove("object");
    ObjectNode noContainers = review("deployment-pod.json");
    ((ObjectNode) noContainers.at("/request/object/spec")).remove("containers");
    ObjectNode wrongType = review("deployment-pod.json");
    ((ObjectNode) wrongType.at("/request/object/spec")).put("containers", "checkout");

    assertRefused(
        injector.review(bytes(noObject)),
        "request.object: missing (expected: the pod being created)");
    assertRefused(
        injector.review(bytes(noContainers)),
        "request.object.spec.containers: none (expected: the pod's containers)");
    SidecarInjector.Reply reply = injector.review(bytes(wrongType));
    assertThat(reply.outcome()).isEqualTo(SidecarInjector.Outcome.REFUSED);
    assertThat(reply.reason()).startsWith("request.object: not a Pod (");
  }

  @Test
  void podWhoseVolumeNameIsTakenIsRefusedRatherThanHalfInjected() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.at("/request/object/spec/volumes/0")).put("name", "fedmesh-certs");

    assertRefused(
        injector.review(bytes(review)),
        "request.object.spec.volumes: 'fedmesh-certs' exists (expected: the name free for the"
            + " sidecar's volume)");
  }

  @Test
  void dnsCaptureIsOnByDefaultAndAPodAnnotationTurnsItOff() throws IOException {
    Pod byDefault = injected(injector, review("deployment-pod.json"));
    ObjectNode optedOut = review("deployment-pod.json");
    ((ObjectNode) optedOut.at("/request/object/metadata/annotations"))
        .put(SidecarInjector.DNS_CAPTURE_ANNOTATION, "false");
    Pod withoutDns = injected(injector, optedOut);

    assertThat(initScript(byDefault)).contains("--dport 53 -j REDIRECT --to-ports 15053");
    assertThat(values(proxy(byDefault).getEnv())).containsEntry("FEDMESH_DNS_CAPTURE", "true");
    assertThat(initScript(withoutDns)).doesNotContain("15053").doesNotContain("--dport 53");
    assertThat(values(proxy(withoutDns).getEnv())).containsEntry("FEDMESH_DNS_CAPTURE", "false");
    assertThat(initScript(withoutDns)).contains("-j REDIRECT --to-ports 15001");
  }

  @Test
  void aPodAnnotationTurnsDnsCaptureOnWhereTheInjectorHasItOff() throws IOException {
    SidecarInjector withoutDns =
        new SidecarInjector(
            new InjectionSettings(
                SETTINGS.proxyImage(),
                SETTINGS.initImage(),
                SETTINGS.cluster(),
                SETTINGS.network(),
                SETTINGS.trustDomain(),
                SETTINGS.controllerAddress(),
                SETTINGS.caAddress(),
                SETTINGS.proxyUid(),
                false),
            namespace -> Optional.ofNullable(NAMESPACES.get(namespace)));
    ObjectNode optedIn = review("deployment-pod.json");
    ((ObjectNode) optedIn.at("/request/object/metadata/annotations"))
        .put(SidecarInjector.DNS_CAPTURE_ANNOTATION, "True");

    assertThat(initScript(injected(withoutDns, review("deployment-pod.json"))))
        .doesNotContain("15053");
    assertThat(initScript(injected(withoutDns, optedIn)))
        .contains("--dport 53 -j REDIRECT --to-ports 15053");
  }

  @Test
  void aDnsCaptureAnnotationThatIsNeitherTrueNorFalseRefusesThePod() throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.at("/request/object/metadata/annotations"))
        .put(SidecarInjector.DNS_CAPTURE_ANNOTATION, "yes");

    assertRefused(
        injector.review(bytes(review)),
        "request.object.metadata.annotations['fedmesh.dev/dnsCapture']: 'yes' (expected: true or"
            + " false)");
  }

  @Test
  void namespaceThatCannotBeReadRefusesThePod() throws IOException {
    SidecarInjector failing =
        new SidecarInjector(
            SETTINGS,
            namespace -> {
              throw new IllegalStateException("API server unavailable");
            });

    assertRefused(
        failing.review(bytes(review("deployment-pod.json"))),
        "namespace 'shop': its labels cannot be read (API server unavailable)");
  }

  private static Pod injected(SidecarInjector injector, ObjectNode review) throws IOException {
    SidecarInjector.Reply reply = injector.review(bytes(review));
    assertThat(reply.outcome()).as(reply.reason()).isEqualTo(SidecarInjector.Outcome.INJECTED);
    return JSON.treeToValue(
        applyPatch(JSON.readTree(reply.body()).path("response"), review.at("/request/object")),
        Pod.class);
  }

  private static String initScript(Pod pod) {
    return pod.getSpec().getInitContainers().stream()
        .filter(c -> c.getName().equals("fedmesh-init"))
        .findFirst()
        .orElseThrow()
        .getCommand()
        .get(2);
  }

  private static Container proxy(Pod pod) {
    return pod.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals("fedmesh-proxy"))
        .findFirst()
        .orElseThrow();
  }

  private static void assertAdmittedUnchanged(SidecarInjector.Reply reply) throws IOException {
    assertThat(reply.httpStatus()).isEqualTo(200);
    JsonNode response = JSON.readTree(reply.body()).path("response");
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.has("patchType")).isFalse();
  }

  private static void assertRefused(SidecarInjector.Reply reply, String reason) throws IOException {
    assertThat(reply.httpStatus()).isEqualTo(200);
    assertThat(reply.outcome()).isEqualTo(SidecarInjector.Outcome.REFUSED);
    JsonNode response = JSON.readTree(reply.body()).path("response");
    assertThat(response.path("uid").asText()).isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
    assertThat(response.path("allowed").asBoolean()).isFalse();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.at("/status/code").asInt()).isEqualTo(400);
    assertThat(response.at("/status/message").asText())
        .isEqualTo("fedmesh sidecar injection: " + reason);
  }

  private static JsonNode applyPatch(JsonNode response, JsonNode pod) throws IOException {
    byte[] patch = Base64.getDecoder().decode(response.path("patch").asText());
    return JsonPatch.apply(JSON.readTree(patch), pod);
  }

  /** The pod with what the injector adds taken out again. */
  private static JsonNode withoutInjection(JsonNode patched) {
    ObjectNode pod = patched.deepCopy();
    ((ObjectNode) pod.at("/metadata/annotations")).remove(SidecarInjector.STATUS_ANNOTATION);
    removeNamed(pod.at("/spec/containers"), "fedmesh-proxy");
    removeNamed(pod.at("/spec/initContainers"), "fedmesh-init");
    removeNamed(pod.at("/spec/volumes"), "fedmesh-token");
    removeNamed(pod.at("/spec/volumes"), "fedmesh-certs");
    removeNamed(pod.at("/spec/volumes"), "fedmesh-root-cert");
    removeNamed(pod.at("/spec/volumes"), "fedmesh-podinfo");
    return pod;
  }

  private static void removeNamed(JsonNode list, String name) {
    var items = list.elements();
    while (items.hasNext()) {
      if (name.equals(items.next().path("name").asText())) {
        items.remove();
      }
    }
  }

  private static Map<String, String> values(List<EnvVar> env) {
    return env.stream()
        .filter(e -> e.getValue() != null)
        .collect(java.util.stream.Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }

  private static Map<String, String> fieldRefs(List<EnvVar> env) {
    return env.stream()
        .filter(e -> e.getValueFrom() != null)
        .collect(
            java.util.stream.Collectors.toMap(
                EnvVar::getName, e -> e.getValueFrom().getFieldRef().getFieldPath()));
  }

  static ObjectNode review(String resource) throws IOException {
    try (InputStream in = SidecarInjectorTest.class.getResourceAsStream("/admission/" + resource)) {
      return (ObjectNode) JSON.readTree(in);
    }
  }

  private static ObjectNode review(String namespace, JsonNode pod) throws IOException {
    ObjectNode review = review("deployment-pod.json");
    ((ObjectNode) review.get("request")).put("namespace", namespace).set("object", pod);
    return review;
  }

  static byte[] bytes(JsonNode json) {
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }
}
