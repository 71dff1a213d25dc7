package dev.fedmesh.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.fedmesh.proxy.http.InboundPort;
import dev.fedmesh.proxy.intercept.InterceptionMode;
import dev.fedmesh.proxy.sidecar.SidecarBootstrap;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the injector writes into a pod is what an injected sidecar needs to start: the proxy
 * container's environment, with the downward API and the mounted files resolved as the kubelet
 * would, reads as a complete bootstrap with the pod's identity, ports, interception and DNS
 * capture.
 */
class InjectedSidecarTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path files;

  @Test
  void theInjectedEnvironmentIsACompleteBootstrap() throws Exception {
    ArrayNode ports = JSON.createArrayNode();
    ports.addObject().put("name", "http-web").put("containerPort", 8080);
    ports.addObject().put("name", "grpc-api").put("containerPort", 9090);
    ports.addObject().put("name", "metrics").put("containerPort", 9100);
    ports.addObject().put("name", "dns").put("containerPort", 5353).put("protocol", "UDP");
    JsonNode pod = InjectedRules.inject(1337, true, ports);
    JsonNode proxy = null;
    for (JsonNode container : pod.path("spec").path("containers")) {
      if (container.path("name").asText().equals("fedmesh-proxy")) {
        proxy = container;
      }
    }
    assertThat(proxy).as("the injected proxy container").isNotNull();

    Map<String, String> fields =
        Map.of(
            "spec.nodeName", "east-worker",
            "metadata.name", "checkout-v1-7d9f",
            "metadata.namespace", "shop",
            "status.podIP", "10.244.1.7",
            "spec.serviceAccountName", "checkout");
    Map<String, String> env = new HashMap<>();
    for (JsonNode variable : proxy.path("env")) {
      String value =
          variable.has("value")
              ? variable.path("value").asText()
              : fields.get(variable.at("/valueFrom/fieldRef/fieldPath").asText());
      // Mounted files live under the test's directory instead of the container's root.
      if (value != null && value.startsWith("/")) {
        Path file = files.resolve(value.substring(1));
        Files.createDirectories(file.getParent());
        value = file.toString();
      }
      env.put(variable.path("name").asText(), value);
    }
    Files.writeString(
        Path.of(env.get("FEDMESH_LABELS_FILE")), "app=\"checkout\"\nversion=\"v1\"\n");

    SidecarBootstrap bootstrap = SidecarBootstrap.fromEnvironment(env);

    assertThat(bootstrap.node().id()).isEqualTo("checkout-v1-7d9f.shop");
    assertThat(bootstrap.node().cluster()).isEqualTo("east");
    assertThat(bootstrap.node().namespace()).isEqualTo("shop");
    assertThat(bootstrap.node().region()).isEqualTo("us-east");
    assertThat(bootstrap.node().serviceAccount()).isEqualTo("checkout");
    assertThat(bootstrap.node().labels())
        .containsEntry("app", "checkout")
        .containsEntry("version", "v1");
    assertThat(bootstrap.interception().mode()).isEqualTo(InterceptionMode.REDIRECT);
    assertThat(bootstrap.interception().dnsCapture()).isTrue();
    assertThat(bootstrap.interception().inboundCapture())
        .isEqualTo(new InetSocketAddress("0.0.0.0", 15006));
    assertThat(bootstrap.outbound()).contains(new InetSocketAddress("127.0.0.1", 15001));
    assertThat(bootstrap.controllers())
        .containsExactly("fedmesh-controller.fedmesh-system.svc:15012");
    assertThat(bootstrap.ca()).isPresent();
    assertThat(bootstrap.ca().get().address()).isEqualTo("fedmesh-agent.fedmesh-system.svc:15012");
    assertThat(bootstrap.inbound())
        .extracting(port -> port.listen().getPort() + "/" + port.protocol())
        .containsExactly("8080/HTTP", "9090/HTTP2", "9100/TCP");
    assertThat(bootstrap.inbound()).allMatch(port -> port.mode() == InboundPort.TlsMode.PERMISSIVE);
  }
}
