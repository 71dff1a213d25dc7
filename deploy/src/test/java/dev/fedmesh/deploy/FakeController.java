package dev.fedmesh.deploy;

import dev.fedmesh.federation.v1.Ack;
import dev.fedmesh.federation.v1.AgentMessage;
import dev.fedmesh.federation.v1.ControllerMessage;
import dev.fedmesh.federation.v1.FederationGrpc;
import dev.fedmesh.federation.v1.Hello;
import dev.fedmesh.federation.v1.ServiceImports;
import dev.fedmesh.federation.v1.ServiceState;
import dev.fedmesh.federation.v1.Welcome;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A controller replica as an agent sees it, on a real port (plaintext): it welcomes every stream,
 * acknowledges everything, keeps what the agent announced, and sends its current import set after
 * the welcome and again whenever the test changes it.
 */
final class FakeController implements AutoCloseable {
  private static final Context.Key<String> AUTHORIZATION = Context.key("authorization");
  private static final Metadata.Key<String> AUTHORIZATION_HEADER =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final Server server;
  private final Map<String, ServiceState> services = new ConcurrentHashMap<>();
  private volatile Hello hello;
  private volatile String authorization;
  private ServiceImports imports = ServiceImports.getDefaultInstance();
  private StreamObserver<ControllerMessage> stream;

  FakeController() {
    ServerInterceptor remember =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            Context context =
                Context.current()
                    .withValue(
                        AUTHORIZATION,
                        Optional.ofNullable(headers.get(AUTHORIZATION_HEADER)).orElse(""));
            return Contexts.interceptCall(context, call, headers, next);
          }
        };
    try {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .addService(ServerInterceptors.intercept(new Federation(), remember))
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The address to give the agent as its controller. */
  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  /** The agent's last Hello, once it said one. */
  Optional<Hello> hello() {
    return Optional.ofNullable(hello);
  }

  /** The {@code authorization} header of the agent's stream. */
  Optional<String> authorization() {
    return Optional.ofNullable(authorization);
  }

  /** What the agent announced last, by {@code namespace/name}. */
  Map<String, ServiceState> services() {
    return Map.copyOf(services);
  }

  /** Makes {@code set} the cluster's imports, sent at once to a connected agent. */
  synchronized void imports(ServiceImports set) {
    imports = set;
    if (stream != null) {
      stream.onNext(ControllerMessage.newBuilder().setImports(set).build());
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  private final class Federation extends FederationGrpc.FederationImplBase {
    @Override
    public StreamObserver<AgentMessage> sync(StreamObserver<ControllerMessage> responses) {
      authorization = AUTHORIZATION.get();
      return new StreamObserver<>() {
        @Override
        public void onNext(AgentMessage message) {
          synchronized (FakeController.this) {
            if (message.hasHello()) {
              hello = message.getHello();
              responses.onNext(
                  ControllerMessage.newBuilder()
                      .setWelcome(Welcome.newBuilder().setControllerReplica("fake-controller"))
                      .build());
              responses.onNext(ControllerMessage.newBuilder().setImports(imports).build());
              stream = responses;
            } else if (message.hasService()) {
              ServiceState state = message.getService();
              services.put(state.getNamespace() + "/" + state.getName(), state);
            } else if (message.hasWithdrawn()) {
              services.remove(
                  message.getWithdrawn().getNamespace() + "/" + message.getWithdrawn().getName());
            }
            responses.onNext(
                ControllerMessage.newBuilder()
                    .setAck(Ack.newBuilder().setGeneration(message.getGeneration()))
                    .build());
          }
        }

        @Override
        public void onError(Throwable error) {
          synchronized (FakeController.this) {
            stream = null;
          }
        }

        @Override
        public void onCompleted() {
          synchronized (FakeController.this) {
            stream = null;
            responses.onCompleted();
          }
        }
      };
    }
  }
}
