package dev.fedmesh.controller.federation;

import dev.fedmesh.controller.AgentTokens;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Authenticates agents by their bearer token before any message is read; the identity travels in
 * the call's {@link Context} to {@link FederationService}.
 */
final class AgentAuthInterceptor implements ServerInterceptor {
  static final Context.Key<AgentTokens.Identity> IDENTITY = Context.key("fedmesh-agent-identity");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final AgentTokens tokens;

  AgentAuthInterceptor(AgentTokens tokens) {
    this.tokens = tokens;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String header = headers.get(AUTHORIZATION);
    String token =
        header != null && header.startsWith("Bearer ") ? header.substring(7).strip() : null;
    var identity = tokens.authenticate(token);
    if (identity.isEmpty()) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              token == null
                  ? "authorization: missing (expected: Bearer <agent token>)"
                  : "authorization: unknown token (expected: a token in the controller's agent tokens)"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(
        Context.current().withValue(IDENTITY, identity.get()), call, headers, next);
  }
}
