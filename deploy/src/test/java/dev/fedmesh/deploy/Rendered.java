package dev.fedmesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The objects of one rendered overlay, read strictly into fabric8's model. */
final class Rendered {
  private final String source;
  private final List<YamlDocument> documents;
  private final List<HasMetadata> objects;

  private Rendered(String source, List<YamlDocument> documents) {
    this.source = source;
    this.documents = documents;
    List<String> problems = new ArrayList<>();
    List<HasMetadata> typed = new ArrayList<>();
    for (YamlDocument document : documents) {
      StrictModel.Parsed parsed = StrictModel.parse(document);
      problems.addAll(parsed.problems());
      parsed.object().ifPresent(typed::add);
    }
    assertThat(problems).as("problems in " + source).isEmpty();
    this.objects = List.copyOf(typed);
  }

  /** {@code deploy/overlays/<cluster>} as kubectl renders it, placeholders left as they are. */
  static Rendered overlay(String cluster) {
    String source = "kubectl kustomize deploy/overlays/" + cluster;
    return new Rendered(
        source, YamlDocument.parse(source, Kustomize.render("overlays/" + cluster)));
  }

  /** The overlay with the node addresses filled in, as the lab script applies it. */
  static Rendered forLab(String cluster) {
    String source = "kubectl kustomize deploy/overlays/" + cluster + " | sed (lab)";
    return new Rendered(source, YamlDocument.parse(source, Kustomize.renderForLab(cluster)));
  }

  String source() {
    return source;
  }

  List<YamlDocument> documents() {
    return documents;
  }

  List<HasMetadata> objects() {
    return objects;
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
    return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
  }

  <T extends HasMetadata> T get(Class<T> type, String name) {
    return find(type, name)
        .orElseThrow(
            () ->
                new AssertionError(
                    source + ": no " + type.getSimpleName() + " named '" + name + "'"));
  }

  ConfigMap clusterConfig() {
    return get(ConfigMap.class, "fedmesh-cluster");
  }

  /** The pod templates of every workload, by workload name. */
  List<Workload> workloads() {
    List<Workload> workloads = new ArrayList<>();
    for (Deployment deployment : all(Deployment.class)) {
      workloads.add(
          new Workload(
              "Deployment/" + deployment.getMetadata().getName(),
              deployment.getMetadata().getNamespace(),
              deployment.getSpec().getTemplate()));
    }
    for (StatefulSet set : all(StatefulSet.class)) {
      workloads.add(
          new Workload(
              "StatefulSet/" + set.getMetadata().getName(),
              set.getMetadata().getNamespace(),
              set.getSpec().getTemplate()));
    }
    return workloads;
  }

  /** A Deployment's or StatefulSet's pod template. */
  record Workload(String name, String namespace, PodTemplateSpec template) {
    PodSpec pod() {
      return template.getSpec();
    }
  }
}
