package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every manifest under {@code deploy/} reads strictly into fabric8's typed model (an unknown field,
 * a wrong type or an unknown kind is an error naming {@code FILE:DOC: PATH}), and every
 * kustomization uses only what both the kustomize of Debian's kubectl 1.20 (v2.0.3) and today's
 * understand.
 */
class ManifestParsingTest {
  /** What kustomize v2.0.3 reads; everything newer (patches, labels, components...) it rejects. */
  private static final Set<String> KUSTOMIZE_V2_FIELDS =
      Set.of(
          "apiVersion",
          "kind",
          "namespace",
          "namePrefix",
          "nameSuffix",
          "commonLabels",
          "commonAnnotations",
          "resources",
          "bases",
          "crds",
          "patchesStrategicMerge",
          "patchesJson6902",
          "images",
          "configMapGenerator",
          "secretGenerator",
          "generatorOptions",
          "vars");

  /**
   * Fields whose effect differs between v2.0.3 and v5 (see deploy/base/kustomization.yaml): left
   * out so that both render the same objects.
   */
  private static final Set<String> DIFFERING_FIELDS = Set.of("namespace", "commonLabels");

  @Test
  void everyManifestReadsStrictlyIntoTheTypedModel() {
    List<Path> files = RepoFiles.manifests();
    assertThat(files).as("manifests under deploy/").hasSizeGreaterThan(8);
    List<String> problems = new ArrayList<>();
    int documents = 0;
    for (Path file : files) {
      for (YamlDocument document : YamlDocument.read(file)) {
        documents++;
        problems.addAll(StrictModel.parse(document).problems());
      }
    }
    assertThat(problems)
        .as("problems in %d documents of %d files", documents, files.size())
        .isEmpty();
  }

  @Test
  void theCrdsAreTypedApiextensionsV1WithStructuralSchemas() {
    List<CustomResourceDefinition> crds = new ArrayList<>();
    for (Path file : RepoFiles.manifests()) {
      for (YamlDocument document : YamlDocument.read(file)) {
        if (document.kind().equals("CustomResourceDefinition")) {
          assertThat(document.node().path("apiVersion").asText())
              .as(document.where())
              .isEqualTo("apiextensions.k8s.io/v1");
          crds.add((CustomResourceDefinition) StrictModel.typed(document));
        }
      }
    }
    assertThat(crds)
        .extracting(crd -> crd.getMetadata().getName())
        .containsExactlyInAnyOrder(
            "serviceexports.multicluster.x-k8s.io", "serviceimports.multicluster.x-k8s.io");
    for (CustomResourceDefinition crd : crds) {
      assertThat(crd.getSpec().getVersions()).hasSize(1);
      var version = crd.getSpec().getVersions().get(0);
      assertThat(version.getName()).isEqualTo("v1alpha1");
      assertThat(version.getServed()).isTrue();
      assertThat(version.getStorage()).isTrue();
      assertThat(version.getSubresources().getStatus()).as("status subresource").isNotNull();
      assertThat(version.getSchema().getOpenAPIV3Schema().getType()).isEqualTo("object");
      assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
    }
  }

  @Test
  void kustomizationsUseOnlyWhatBothKustomizeVersionsRead() {
    List<Path> kustomizations = RepoFiles.kustomizations();
    assertThat(kustomizations).hasSize(5);
    List<String> problems = new ArrayList<>();
    for (Path file : kustomizations) {
      YamlDocument document = YamlDocument.read(file).get(0);
      for (Iterator<String> fields = document.node().fieldNames(); fields.hasNext(); ) {
        String field = fields.next();
        if (!KUSTOMIZE_V2_FIELDS.contains(field)) {
          problems.add(document.where() + ": " + field + ": not read by kustomize v2.0.3");
        } else if (DIFFERING_FIELDS.contains(field)) {
          problems.add(document.where() + ": " + field + ": renders differently in v2.0.3 and v5");
        }
      }
      // v2.0.3 takes files in resources and kustomization directories in bases only.
      for (JsonNode resource : document.node().path("resources")) {
        if (!Files.isRegularFile(file.resolveSibling(resource.asText()))) {
          problems.add(document.where() + ": resources: " + resource.asText() + ": not a file");
        }
      }
      for (JsonNode base : document.node().path("bases")) {
        if (!Files.isRegularFile(
            file.resolveSibling(base.asText()).resolve("kustomization.yaml"))) {
          problems.add(
              document.where() + ": bases: " + base.asText() + ": not a kustomization directory");
        }
      }
      for (JsonNode patch : document.node().path("patchesStrategicMerge")) {
        if (!Files.isRegularFile(file.resolveSibling(patch.asText()))) {
          problems.add(
              document.where() + ": patchesStrategicMerge: " + patch.asText() + ": not a file");
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void theStrictReaderNamesEveryUnknownFieldAndUnknownKindWithItsPath() {
    String yaml =
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: app
          lables: {a: b}
        spec:
          selector:
            matchLabels: {app: app}
          template:
            metadata:
              labels: {app: app}
            spec:
              containers:
                - name: app
                  image: app
                  imagePullPolcy: Always
                  resources:
                    limit: {cpu: "1"}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec:
          ports:
            - port: not-a-number
        ---
        apiVersion: example.com/v1
        kind: Gadget
        metadata: {name: g}
        """;
    List<YamlDocument> documents = YamlDocument.parse("test.yaml", yaml);

    assertThat(StrictModel.parse(documents.get(0)).problems())
        .containsExactlyInAnyOrder(
            "test.yaml:1: metadata.lables: unknown field (not in ObjectMeta)",
            "test.yaml:1: spec.template.spec.containers[0].imagePullPolcy: unknown field (not in"
                + " Container)",
            "test.yaml:1: spec.template.spec.containers[0].resources.limit: unknown field (not in"
                + " ResourceRequirements)");
    assertThat(StrictModel.parse(documents.get(1)).problems())
        .singleElement()
        .asString()
        .startsWith("test.yaml:2: spec.ports[0].port: ");
    assertThat(StrictModel.parse(documents.get(2)).problems())
        .singleElement()
        .asString()
        .startsWith("test.yaml:3: apiVersion/kind: 'example.com/v1/Gadget'");
  }
}
