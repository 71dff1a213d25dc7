package dev.fedmesh.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The API server's answers are scripted: it is the one who knows which tokens are valid. */
@EnableKubernetesMockClient
class TokenReviewAuthenticatorTest {
  private static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";

  KubernetesMockServer server;
  KubernetesClient client;

  @Test
  void tokenOfAPodsServiceAccountNamesTheWorkload() throws Exception {
    answer(
        new TokenReviewBuilder()
            .withNewStatus()
            .withAuthenticated(true)
            .withAudiences(TokenReviewAuthenticator.AUDIENCE)
            .withNewUser()
            .withUsername("system:serviceaccount:shop:checkout")
            .withExtra(
                Map.of(
                    "authentication.kubernetes.io/pod-name", List.of("checkout-7d9c6b5f4-x2x9z")))
            .endUser()
            .endStatus()
            .build());

    WorkloadCaller caller = authenticator().review("token-of-checkout");

    assertThat(caller)
        .isEqualTo(new WorkloadCaller("shop", "checkout", "checkout-7d9c6b5f4-x2x9z"));
    TokenReview asked =
        client
            .getKubernetesSerialization()
            .unmarshal(server.getLastRequest().getBody().readUtf8(), TokenReview.class);
    assertThat(asked.getSpec().getToken()).isEqualTo("token-of-checkout");
    assertThat(asked.getSpec().getAudiences()).containsExactly(TokenReviewAuthenticator.AUDIENCE);
  }

  @Test
  void tokenTheClusterDoesNotAuthenticateIsRejected() {
    answer(
        new TokenReviewBuilder()
            .withNewStatus()
            .withAuthenticated(false)
            .withError("token has expired")
            .endStatus()
            .build());

    assertThatThrownBy(() -> authenticator().review("expired"))
        .isInstanceOf(CallerRejectedException.class)
        .hasMessage("token: not authenticated by the cluster: token has expired");
  }

  @Test
  void tokenOfAUserRatherThanAServiceAccountIsRejected() {
    answer(
        new TokenReviewBuilder()
            .withNewStatus()
            .withAuthenticated(true)
            .withAudiences(TokenReviewAuthenticator.AUDIENCE)
            .withNewUser()
            .withUsername("alice@example.com")
            .endUser()
            .endStatus()
            .build());

    assertThatThrownBy(() -> authenticator().review("alice"))
        .isInstanceOf(CallerRejectedException.class)
        .hasMessage(
            "token: user 'alice@example.com' (expected: a service account, system:serviceaccount:…)");
  }

  @Test
  void aReviewThatConfirmsNoAudienceIsRejected() {
    answer(
        new TokenReviewBuilder()
            .withNewStatus()
            .withAuthenticated(true)
            .withNewUser()
            .withUsername("system:serviceaccount:shop:checkout")
            .endUser()
            .endStatus()
            .build());

    assertThatThrownBy(() -> authenticator().review("token-for-another-service"))
        .isInstanceOf(CallerRejectedException.class)
        .hasMessageStartingWith("token: audiences [] (expected: '")
        .hasMessageContaining(TokenReviewAuthenticator.AUDIENCE);
  }

  @Test
  void aReviewForAnotherAudienceIsRejected() {
    answer(
        new TokenReviewBuilder()
            .withNewStatus()
            .withAuthenticated(true)
            .withAudiences("https://kubernetes.default.svc")
            .withNewUser()
            .withUsername("system:serviceaccount:shop:checkout")
            .endUser()
            .endStatus()
            .build());

    assertThatThrownBy(() -> authenticator().review("api-server-token"))
        .isInstanceOf(CallerRejectedException.class)
        .hasMessageStartingWith("token: audiences [https://kubernetes.default.svc]");
  }

  @Test
  void emptyTokenIsRejectedWithoutAsking() {
    assertThatThrownBy(() -> authenticator().review(""))
        .isInstanceOf(CallerRejectedException.class)
        .hasMessage("token: missing (expected: a service account token)");
    assertThat(server.getRequestCount()).isZero();
  }

  private TokenReviewAuthenticator authenticator() {
    return new TokenReviewAuthenticator(client, TokenReviewAuthenticator.AUDIENCE);
  }

  private void answer(TokenReview review) {
    server.expect().post().withPath(PATH).andReturn(201, review).once();
  }
}
