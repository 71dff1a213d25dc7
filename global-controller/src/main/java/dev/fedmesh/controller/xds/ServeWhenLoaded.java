package dev.fedmesh.controller.xds;

import static java.util.Objects.requireNonNull;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Refuses ADS streams with {@code UNAVAILABLE} until the replica has published a model that holds
 * everything etcd held when the replica listed it. A replica that answered earlier would serve an
 * empty mesh, which a proxy accepts as the truth (as Envoy would) and routes nothing. A refused
 * proxy keeps its last config and tries another replica or this one again after a backoff, as
 * Istio's discovery server makes proxies do until its caches have synced.
 *
 * <p>The gate opens once and stays open: a replica that later loses etcd keeps serving the last
 * model it published, which is better for proxies than no config.
 */
public final class ServeWhenLoaded implements ServerInterceptor {
  private final BooleanSupplier loaded;
  private final Supplier<String> waitingFor;

  /**
   * @param loaded whether the model has been published at or beyond the startup listing
   * @param waitingFor what the replica still waits for, for the refusal's description
   */
  public ServeWhenLoaded(BooleanSupplier loaded, Supplier<String> waitingFor) {
    this.loaded = requireNonNull(loaded, "loaded");
    this.waitingFor = requireNonNull(waitingFor, "waitingFor");
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (loaded.getAsBoolean()) {
      return next.startCall(call, headers);
    }
    call.close(
        Status.UNAVAILABLE.withDescription(
            "controller replica has not loaded the mesh from etcd yet (" + waitingFor.get() + ")"),
        new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
