package dev.fedmesh.chaos;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;

/** Endpoint changes made the way a cluster makes them: in its Kubernetes API. */
final class Endpoints {
  private Endpoints() {}

  /** Marks every endpoint of {@code service} in {@code cluster} ready or not (a failing probe). */
  static void setReady(ChaosLab lab, String cluster, String service, boolean ready)
      throws IOException {
    String api = lab.clusterStatus(cluster).path("kubernetesApi").asText();
    try (KubernetesClient kube =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(Config.empty()).withMasterUrl(api).withNamespace("shop").build())
            .build()) {
      kube.resources(EndpointSlice.class)
          .inNamespace("shop")
          .withName(service + "-" + cluster)
          .edit(
              slice -> {
                slice.getEndpoints().forEach(e -> e.getConditions().setReady(ready));
                slice.getEndpoints().forEach(e -> e.getConditions().setServing(ready));
                return slice;
              });
    }
  }
}
