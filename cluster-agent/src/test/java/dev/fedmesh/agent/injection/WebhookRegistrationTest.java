package dev.fedmesh.agent.injection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class WebhookRegistrationTest {
  KubernetesClient client;

  @Test
  void everyWebhookOfTheConfigurationTrustsTheNewCa() {
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName("fedmesh-sidecar-injector")
                .endMetadata()
                .addNewWebhook()
                .withName("inject.fedmesh.dev")
                .withNewClientConfig()
                .withNewService()
                .withNamespace("fedmesh-system")
                .withName("fedmesh-agent")
                .withPath("/inject")
                .withPort(15017)
                .endService()
                .endClientConfig()
                .endWebhook()
                .build())
        .create();

    WebhookRegistration.publishCaBundle(client, "fedmesh-sidecar-injector", "-----PEM-----\n");

    MutatingWebhookConfiguration stored =
        client
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .withName("fedmesh-sidecar-injector")
            .get();
    MutatingWebhook webhook = stored.getWebhooks().get(0);
    assertThat(
            new String(
                Base64.getDecoder().decode(webhook.getClientConfig().getCaBundle()),
                StandardCharsets.UTF_8))
        .isEqualTo("-----PEM-----\n");
    assertThat(webhook.getClientConfig().getService().getPath()).isEqualTo("/inject");
  }

  @Test
  void missingConfigurationIsNamedInTheError() {
    assertThatThrownBy(() -> WebhookRegistration.publishCaBundle(client, "absent", "pem"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "MutatingWebhookConfiguration 'absent': not found (expected: installed with the"
                + " agent)");
  }
}
