package dev.fedmesh.deploy;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * fabric8's mock API server in CRUD mode (expectations may be set too) behind an RBAC authorizer:
 * requests with the service account's token are authorized by the rules bound to it, and each
 * decision is recorded; a denied request gets the API server's 403 Forbidden Status. The admin
 * token (for the test's own setup and checks) is not authorized at all, as cluster-admin.
 */
final class RbacApiServer implements AutoCloseable {
  static final String ADMIN_TOKEN = "admin-token-for-the-test";
  static final String SERVICE_ACCOUNT_TOKEN = "token-of-the-agent-service-account";

  /** One authorization decision. */
  record Decision(RbacAuthorizer.Request request, boolean allowed) {}

  private final KubernetesMockServer server;
  private final List<Decision> decisions = new CopyOnWriteArrayList<>();
  private final KubernetesClient admin;

  private RbacApiServer(RbacAuthorizer authorizer) {
    Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    Dispatcher crud = new KubernetesMixedDispatcher(responses);
    server =
        new KubernetesMockServer(
            new Context(Serialization.jsonMapper()),
            new MockWebServer(),
            responses,
            new Authorizing(crud, authorizer, decisions),
            false);
    server.init();
    admin = client(ADMIN_TOKEN);
  }

  /** Serves the CRUD API to {@code authorizer}'s service account and to the admin. */
  static RbacApiServer start(RbacAuthorizer authorizer) {
    return new RbacApiServer(authorizer);
  }

  /** A client that presents {@code token}, as a pod presents its service account's. */
  KubernetesClient client(String token) {
    Config config =
        new ConfigBuilder(Config.empty())
            .withMasterUrl(server.url("/"))
            .withOauthToken(token)
            .withNamespace("fedmesh-system")
            .withTrustCerts(true)
            .withRequestRetryBackoffLimit(0)
            .build();
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** The cluster-admin client of the test's own setup and checks. */
  KubernetesClient admin() {
    return admin;
  }

  /** For scripted answers (a TokenReview's), which are authorized like any request. */
  KubernetesMockServer mock() {
    return server;
  }

  List<Decision> decisions() {
    return List.copyOf(decisions);
  }

  List<Decision> denials() {
    return decisions.stream().filter(d -> !d.allowed()).toList();
  }

  @Override
  public void close() {
    admin.close();
    server.destroy();
  }

  /** Answers what the authorizer allows through {@code delegate}, and 403 to the rest. */
  private static final class Authorizing extends Dispatcher {
    private final Dispatcher delegate;
    private final RbacAuthorizer authorizer;
    private final List<Decision> decisions;

    Authorizing(Dispatcher delegate, RbacAuthorizer authorizer, List<Decision> decisions) {
      this.delegate = delegate;
      this.authorizer = authorizer;
      this.decisions = decisions;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      String authorization = request.getHeader("Authorization");
      if (("Bearer " + ADMIN_TOKEN).equals(authorization)) {
        return delegate.dispatch(request);
      }
      if (!("Bearer " + SERVICE_ACCOUNT_TOKEN).equals(authorization)) {
        return status(401, "Unauthorized", "Unauthorized");
      }
      RbacAuthorizer.Request attributes =
          RbacAuthorizer.parse(request.getMethod(), request.getPath());
      boolean allowed = authorizer.allows(attributes);
      decisions.add(new Decision(attributes, allowed));
      if (!allowed) {
        return status(
            403,
            "Forbidden",
            "User \""
                + authorizer.user()
                + "\" cannot "
                + attributes.describe()
                + " (no rule of its roles grants it)");
      }
      return delegate.dispatch(request);
    }

    @Override
    public void shutdown() {
      delegate.shutdown();
    }

    private static MockResponse status(int code, String reason, String message) {
      Status status =
          new StatusBuilder()
              .withStatus("Failure")
              .withCode(code)
              .withReason(reason)
              .withMessage(message)
              .build();
      return new MockResponse()
          .setResponseCode(code)
          .setHeader("Content-Type", "application/json")
          .setBody(Serialization.asJson(status));
    }
  }
}
