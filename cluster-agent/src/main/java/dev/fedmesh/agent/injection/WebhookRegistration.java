package dev.fedmesh.agent.injection;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Points the cluster's MutatingWebhookConfiguration at the webhook's current certificate: the
 * {@code caBundle} of each of its webhooks becomes the CA the agent generated at startup.
 */
public final class WebhookRegistration {
  private WebhookRegistration() {}

  /**
   * Sets the {@code caBundle} of every webhook of the MutatingWebhookConfiguration {@code name}.
   *
   * @throws IllegalStateException when the configuration does not exist
   */
  public static void publishCaBundle(KubernetesClient client, String name, String caBundlePem) {
    requireNonNull(client, "client");
    requireNonNull(name, "name");
    requireNonNull(caBundlePem, "caBundlePem");
    var resource =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name);
    if (resource.get() == null) {
      throw new IllegalStateException(
          "MutatingWebhookConfiguration '"
              + name
              + "': not found (expected: installed with the"
              + " agent)");
    }
    String encoded =
        Base64.getEncoder().encodeToString(caBundlePem.getBytes(StandardCharsets.UTF_8));
    resource.edit(
        (MutatingWebhookConfiguration configuration) -> {
          for (MutatingWebhook webhook : configuration.getWebhooks()) {
            if (webhook.getClientConfig() != null) {
              webhook.getClientConfig().setCaBundle(encoded);
            }
          }
          return configuration;
        });
  }
}
