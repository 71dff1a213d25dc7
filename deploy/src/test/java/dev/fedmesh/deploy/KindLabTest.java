package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The kind lab's own files: the three cluster configs use only kind's {@code v1alpha4} fields this
 * lab relies on (read strictly: a misspelt field fails), with ranges that never overlap and nodes
 * labelled with their region and zone; the demo app reads strictly into Kubernetes' model, and
 * every service another cluster calls is exported where it runs.
 */
class KindLabTest {
  private static final ObjectMapper STRICT =
      new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** The subset of kind's {@code Cluster} (kind.x-k8s.io/v1alpha4) the lab uses. */
  record KindCluster(
      @JsonProperty(value = "kind", required = true) String kind,
      @JsonProperty(value = "apiVersion", required = true) String apiVersion,
      @JsonProperty(value = "name", required = true) String name,
      @JsonProperty(value = "networking", required = true) Networking networking,
      @JsonProperty(value = "nodes", required = true) List<Node> nodes) {}

  record Networking(
      @JsonProperty(value = "podSubnet", required = true) String podSubnet,
      @JsonProperty(value = "serviceSubnet", required = true) String serviceSubnet) {}

  record Node(
      @JsonProperty(value = "role", required = true) String role,
      @JsonProperty("labels") Map<String, String> labels) {}

  private static final Map<String, String> REGIONS =
      Map.of("east", "us-east", "west", "us-west", "central", "eu-central");

  private static KindCluster config(String cluster) throws IOException {
    return STRICT.readValue(
        Files.readString(RepoFiles.root().resolve("kind-configs/" + cluster + ".yaml")),
        KindCluster.class);
  }

  @Test
  void eachClusterConfigIsKindV1alpha4WithItsOwnRangesAndLabelledNodes() throws IOException {
    Set<String> ranges = new HashSet<>();
    for (String cluster : REGIONS.keySet()) {
      KindCluster config = config(cluster);
      assertThat(config.kind()).isEqualTo("Cluster");
      assertThat(config.apiVersion()).isEqualTo("kind.x-k8s.io/v1alpha4");
      assertThat(config.name()).isEqualTo(cluster);
      assertThat(ranges.add(config.networking().podSubnet()))
          .as("%s podSubnet %s unique", cluster, config.networking().podSubnet())
          .isTrue();
      assertThat(ranges.add(config.networking().serviceSubnet()))
          .as("%s serviceSubnet %s unique", cluster, config.networking().serviceSubnet())
          .isTrue();
      assertThat(config.nodes()).extracting(Node::role).contains("control-plane", "worker");
      for (Node node : config.nodes()) {
        assertThat(node.role()).isIn("control-plane", "worker");
        if (node.role().equals("worker")) {
          assertThat(node.labels())
              .as("%s worker labels", cluster)
              .containsEntry("topology.kubernetes.io/region", REGIONS.get(cluster))
              .containsKey("topology.kubernetes.io/zone");
        }
      }
    }
    // No two ranges of the mesh overlap: the /16s are all distinct and none contains another.
    assertThat(ranges).hasSize(6).allMatch(range -> range.endsWith("/16"));
    Set<String> zones = new TreeSet<>();
    for (Node node : config("east").nodes()) {
      if (node.labels() != null) {
        zones.add(node.labels().get("topology.kubernetes.io/zone"));
      }
    }
    assertThat(zones).as("east spans two zones").containsExactly("us-east-a", "us-east-b");
  }

  @Test
  void theDemoAppReadsStrictlyAndExportsWhatOtherClustersCall() {
    Map<String, Set<String>> exported = new TreeMap<>();
    Map<String, Set<String>> running = new TreeMap<>();
    Map<String, Set<String>> called = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    for (String cluster : REGIONS.keySet()) {
      Path file = RepoFiles.root().resolve("kind-configs/demo/" + cluster + ".yaml");
      for (YamlDocument document : YamlDocument.read(file)) {
        if (document.kind().equals("ServiceExport")) {
          // Our CRD (deploy/base) has no spec: only the object's identity.
          assertThat(document.node().fieldNames())
              .toIterable()
              .as(document.where())
              .containsExactlyInAnyOrder("apiVersion", "kind", "metadata");
          exported.computeIfAbsent(cluster, c -> new TreeSet<>()).add(document.name());
          continue;
        }
        StrictModel.Parsed parsed = StrictModel.parse(document);
        problems.addAll(parsed.problems());
        HasMetadata object = parsed.object().orElse(null);
        if (object instanceof Deployment deployment) {
          Container app = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
          assertThat(app.getImage()).as(document.where()).isEqualTo("fedmesh/fedmesh:dev");
          List<String> args = app.getArgs();
          if (args.get(0).equals("demo-app")) {
            running
                .computeIfAbsent(cluster, c -> new TreeSet<>())
                .add(args.get(args.indexOf("--service") + 1));
            int calls = args.indexOf("--calls");
            if (calls >= 0) {
              called.computeIfAbsent(cluster, c -> new TreeSet<>()).add(args.get(calls + 1));
            }
          }
        }
      }
    }
    assertThat(problems).isEmpty();
    // A service called from one cluster and run in another is exported where it runs: otherwise
    // the caller's mesh would not see it.
    called.forEach(
        (cluster, services) -> {
          for (String service : services) {
            running.forEach(
                (where, there) -> {
                  if (!where.equals(cluster) && there.contains(service)) {
                    assertThat(exported.getOrDefault(where, Set.of()))
                        .as("%s calls %s, which %s runs: exported there", cluster, service, where)
                        .contains(service);
                  }
                });
          }
        });
    assertThat(running.get("east")).doesNotContain("payments");
    assertThat(called.get("east")).contains("payments");
  }
}
