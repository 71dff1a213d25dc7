package dev.fedmesh.testkit;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A real gRPC server on loopback whose one method, {@code fedmesh.test.Echo/Echo}, answers {@code
 * "<name>: <request>"}; tests tell which server answered by its name. Messages are plain UTF-8, so
 * no generated code is needed on either side.
 */
public final class EchoServer implements AutoCloseable {
  public static final MethodDescriptor<String, String> ECHO =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("fedmesh.test.Echo/Echo")
          .setRequestMarshaller(new Utf8())
          .setResponseMarshaller(new Utf8())
          .build();

  private final String name;
  private final Server server;

  private EchoServer(String name, Server server) {
    this.name = name;
    this.server = server;
  }

  /** Starts a server named {@code name} on a free port of {@code host} (a loopback address). */
  public static EchoServer start(String name, String host) {
    ServerServiceDefinition service =
        ServerServiceDefinition.builder("fedmesh.test.Echo")
            .addMethod(
                ECHO,
                ServerCalls.asyncUnaryCall(
                    (request, responses) -> {
                      responses.onNext(name + ": " + request);
                      responses.onCompleted();
                    }))
            .build();
    try {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, 0))
              .addService(service)
              .build()
              .start();
      return new EchoServer(name, server);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start echo server " + name, e);
    }
  }

  public String name() {
    return name;
  }

  public int port() {
    return server.getPort();
  }

  /** Calls Echo on {@code channel} and returns the name of the server that answered. */
  public static String whoAnswers(Channel channel, String request) {
    String response =
        ClientCalls.blockingUnaryCall(
            channel, ECHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request);
    int colon = response.indexOf(": ");
    if (colon < 0 || !response.substring(colon + 2).equals(request)) {
      throw new IllegalStateException("not an echo of '" + request + "': '" + response + "'");
    }
    return response.substring(0, colon);
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
