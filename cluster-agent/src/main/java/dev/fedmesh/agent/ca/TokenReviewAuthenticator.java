package dev.fedmesh.agent.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ca.AuthenticationException;
import dev.fedmesh.trust.ca.CallerAuthenticator;
import dev.fedmesh.trust.ca.CallerCredentials;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;
import java.util.Map;

/**
 * Authenticates workloads by their projected service account tokens, asking the API server
 * (TokenReview, {@code authentication.k8s.io/v1}) whether the token is valid for {@link #AUDIENCE}
 * and whose it is. A token for another audience (the pod's default API token, say) is refused, so a
 * token leaked to some other service cannot be replayed to the CA.
 */
public final class TokenReviewAuthenticator implements CallerAuthenticator {
  /** The audience of the tokens the injector mounts into sidecars for the CA. */
  public static final String AUDIENCE = "fedmesh-ca";

  private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";
  private static final String POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name";

  private final KubernetesClient client;
  private final String audience;

  /** Accepts tokens issued for {@code audience} (normally {@link #AUDIENCE}). */
  public TokenReviewAuthenticator(KubernetesClient client, String audience) {
    this.client = requireNonNull(client, "client");
    this.audience = requireNonNull(audience, "audience");
  }

  /** The CA's view: the caller's namespace and service account, from its bearer token. */
  @Override
  public CallerIdentity authenticate(CallerCredentials credentials) throws AuthenticationException {
    try {
      WorkloadCaller caller = review(credentials.bearerToken().orElse(null));
      return CallerIdentity.of(caller.namespace(), caller.serviceAccount());
    } catch (CallerRejectedException e) {
      throw new AuthenticationException(e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException(
          "token: names an invalid workload (" + e.getMessage() + ")");
    }
  }

  /**
   * The workload {@code bearerToken} was issued to, as the API server vouches for it.
   *
   * @throws CallerRejectedException when the token does not prove a workload of this cluster
   */
  public WorkloadCaller review(String bearerToken) throws CallerRejectedException {
    if (bearerToken == null || bearerToken.isBlank()) {
      throw new CallerRejectedException("token: missing (expected: a service account token)");
    }
    TokenReview review =
        new TokenReviewBuilder()
            .withNewSpec()
            .withToken(bearerToken)
            .withAudiences(audience)
            .endSpec()
            .build();
    TokenReviewStatus status;
    try {
      status = client.authentication().v1().tokenReviews().create(review).getStatus();
    } catch (KubernetesClientException e) {
      throw new CallerRejectedException("token: cannot be reviewed (" + e.getMessage() + ")", e);
    }
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String error = status == null || status.getError() == null ? "" : ": " + status.getError();
      throw new CallerRejectedException("token: not authenticated by the cluster" + error);
    }
    // An API server that ignores spec.audiences answers with none: it has then not checked that
    // the token was meant for this CA, so a token minted for any other service would pass.
    List<String> audiences = status.getAudiences() == null ? List.of() : status.getAudiences();
    if (!audiences.contains(audience)) {
      throw new CallerRejectedException(
          "token: audiences "
              + audiences
              + " (expected: '"
              + audience
              + "', as the API server must confirm for a token meant for this CA)");
    }
    UserInfo user = status.getUser();
    String username = user == null || user.getUsername() == null ? "" : user.getUsername();
    if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
      throw new CallerRejectedException(
          "token: user '" + username + "' (expected: a service account, system:serviceaccount:…)");
    }
    String[] parts = username.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", -1);
    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new CallerRejectedException(
          "token: user '"
              + username
              + "' (expected: system:serviceaccount:<namespace>:<service account>)");
    }
    return new WorkloadCaller(parts[0], parts[1], podName(user));
  }

  private static String podName(UserInfo user) {
    Map<String, List<String>> extra = user.getExtra();
    List<String> pods = extra == null ? null : extra.get(POD_NAME_EXTRA);
    return pods == null || pods.isEmpty() ? "" : pods.get(0);
  }
}
