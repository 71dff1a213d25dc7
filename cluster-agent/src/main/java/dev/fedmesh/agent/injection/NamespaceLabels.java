package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;
import java.util.Optional;

/** Where the injector reads a namespace's labels; a pod's namespace decides its injection. */
@FunctionalInterface
public interface NamespaceLabels {
  /**
   * The labels of {@code namespace}, or empty when it does not exist. Throws when they cannot be
   * read; the injector then refuses the pod rather than guess.
   */
  Optional<Map<String, String>> of(String namespace);

  /** Reads namespaces from the API server, one request per pod admitted. */
  static NamespaceLabels fromApi(KubernetesClient client) {
    requireNonNull(client, "client");
    return namespace -> {
      Namespace found = client.namespaces().withName(namespace).get();
      if (found == null) {
        return Optional.empty();
      }
      Map<String, String> labels = found.getMetadata().getLabels();
      return Optional.of(labels == null ? Map.of() : labels);
    };
  }
}
