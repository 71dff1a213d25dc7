package dev.fedmesh.agent;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.agent.federation.Backoff;
import dev.fedmesh.agent.federation.FederationClient;
import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.model.ClusterInfo;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A cluster's agent: watches an {@link EndpointSource} and streams what it sees to the global
 * controller. Embeddable (tests, the lab) and run standalone by {@link AgentMain}.
 */
public final class ClusterAgent implements AutoCloseable {
  private final ScheduledExecutorService executor;
  private final List<ManagedChannel> channels;
  private final EndpointSource source;
  private final FederationClient client;

  private ClusterAgent(
      ClusterInfo cluster,
      List<String> controllers,
      String token,
      Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
    executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-" + cluster.name());
              thread.setDaemon(true);
              return thread;
            });
    channels =
        controllers.stream()
            .map(
                target ->
                    NettyChannelBuilder.forTarget(target)
                        .usePlaintext()
                        .intercept(bearer(token))
                        .keepAliveTime(10, TimeUnit.SECONDS)
                        .keepAliveTimeout(5, TimeUnit.SECONDS)
                        .build())
            .toList();
    source = sourceFactory.apply(executor);
    client =
        new FederationClient(
            channels,
            cluster,
            executor,
            new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), new SecureRandom()),
            Duration.ofSeconds(5));
  }

  /**
   * Starts an agent for {@code cluster} that reports to one of the controller replicas at {@code
   * controllers} (gRPC targets such as {@code 127.0.0.1:15010}).
   *
   * @param sourceFactory makes the endpoint source, given the agent's executor
   */
  public static ClusterAgent start(
      ClusterInfo cluster,
      List<String> controllers,
      Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
    return start(cluster, controllers, "", sourceFactory);
  }

  /**
   * Like {@link #start(ClusterInfo, List, Function)}, authenticating to the controllers with {@code
   * token} (sent as {@code authorization: Bearer <token>}; empty sends none).
   */
  public static ClusterAgent start(
      ClusterInfo cluster,
      List<String> controllers,
      String token,
      Function<ScheduledExecutorService, EndpointSource> sourceFactory) {
    requireNonNull(cluster, "cluster");
    requireNonNull(token, "token");
    if (controllers.isEmpty()) {
      throw new IllegalArgumentException("controllers: none (expected: at least one address)");
    }
    ClusterAgent agent = new ClusterAgent(cluster, List.copyOf(controllers), token, sourceFactory);
    agent.source.start(agent.client::update);
    return agent;
  }

  private static io.grpc.ClientInterceptor bearer(String token) {
    Metadata headers = new Metadata();
    if (!token.isEmpty()) {
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    }
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  public FederationClient federation() {
    return client;
  }

  @Override
  public void close() {
    source.close();
    client.close();
    channels.forEach(ManagedChannel::shutdown);
    try {
      for (ManagedChannel channel : channels) {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channels.forEach(ManagedChannel::shutdownNow);
    executor.shutdown();
  }
}
